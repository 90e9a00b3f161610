//! PostgreSQL: every built-in type (and enums, domains, composites, user-defined ranges and
//! multiranges, arrays), each in a table of its own with edge values and a NULL, read through
//! Sluice and directly over the text protocol (`simple_query`: exactly what the type's output
//! function prints, in the session settings Sluice pins).

use serde_json::{Value, json};

use super::pgtext::Form::{self, *};
use super::{assert_none, compare};
use crate::harness::{PgSchema, Sluice};

/// One column type: its SQL, the type name the response must carry, how its text becomes
/// JSON, and the values (SQL literals) stored in it besides NULL.
struct Case {
    sql: &'static str,
    name: &'static str,
    form: Form,
    values: &'static [&'static str],
}

const fn case(sql: &'static str, name: &'static str, form: Form, values: &'static [&'static str]) -> Case {
    Case { sql, name, form, values }
}

/// User-defined types the cases use.
const TYPES: &str = "
    CREATE TYPE mood AS ENUM ('sad', 'ünïcode mood', 'NULL');
    CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
    CREATE DOMAIN shortrange AS int4range;
    CREATE TYPE floatrange AS RANGE (subtype = float8);
    CREATE TYPE address AS (street text, n int4, at timestamptz, tags text[], price money, span int4range, m mood);
    CREATE TYPE wrapper AS (inner_address address, gone int4, note varchar(5));
    ALTER TYPE wrapper DROP ATTRIBUTE gone;
";

const JSON_TEXTS: &[&str] = &[
    "'[0.1, 1.3e100, 123456789012345678901234567890.5]'",
    "'1e400'",
    "'-0'",
    "'null'",
    "'{\"a\": 1, \"a\": 2}'",
    "'  [1,   2]  '",
    "'\"é \\u00e9 😀\"'",
    "'{}'",
];

#[rustfmt::skip]
fn cases() -> Vec<Case> {
    vec![
        case("bool", "bool", Bool, &["true", "false"]),
        case("int2", "int2", Int, &["-32768", "32767", "0"]),
        case("int4", "int4", Int, &["-2147483648", "2147483647"]),
        case("int8", "int8", Text, &["-9223372036854775808", "9223372036854775807"]),
        case("oid", "int8", Text, &["0", "4294967295"]),
        case("float4", "float4", Float, &["'NaN'", "'Infinity'", "'-Infinity'", "'1.17549435e-38'", "'3.4028235e38'", "0.1", "'-0'", "'1e-45'", "'123456.7'"]),
        case("float8", "float8", Float, &["'NaN'", "'Infinity'", "'-Infinity'", "'2.2250738585072014e-308'", "'1.7976931348623157e308'", "'5e-324'", "0.1", "'-0'", "'1e15'", "'123456789012345680000'"]),
        case("numeric", "numeric", Text, &["'NaN'", "'Infinity'", "'-Infinity'", "-1.50", "'0.000000000000000000000000000001'", "repeat('9', 1000)::numeric", "'-1e-100'", "0"]),
        case("numeric(40,20)", "numeric", Text, &["'12345678901234567890.12345678901234567890'", "0"]),
        case("money", "money", Text, &["'-92233720368547758.08'", "'92233720368547758.07'", "0", "12.34"]),
        case("text", "text", Text, &["''", "'héllo ''q'' \\ 😀'", "E'tab\\tnew\\nline'", "'NULL'", "repeat('ü', 10000)"]),
        case("varchar(10)", "text", Text, &["'short'", "''", "'ünïcödé ✓'"]),
        case("char(3)", "text", Text, &["'ab'", "''", "'ü'"]),
        case("name", "text", Text, &["'pg_class'", "'ünï cödé'", "''"]),
        case("\"char\"", "text", Text, &["''", "'a'", "'é'", "'\\'", "' '"]),
        case("bytea", "bytes", Bytea, &["'\\x'", "'\\x00ff10'", "decode(repeat('ab', 1000), 'hex')"]),
        case("uuid", "uuid", Text, &["'00000000-0000-0000-0000-000000000000'", "'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'"]),
        case("json", "json", Text, JSON_TEXTS),
        case("jsonb", "json", Text, JSON_TEXTS),
        case("jsonpath", "jsonpath", Text, &["'$.a[*] ? (@ > 1.5)'", "'strict $.\"ü\"'", "'$'", "'$.a like_regex \"^x\" flag \"i\"'"]),
        case("xml", "text", Text, &["'<a>é</a>'", "'<?xml version=\"1.0\"?><r/>'", "''"]),
        case("refcursor", "text", Text, &["'c1'"]),
        case("date", "date", Date, &["'2024-02-29'", "'0001-01-01'", "'0001-12-31 BC'", "'4713-11-24 BC'", "'5874897-12-31'", "'infinity'", "'-infinity'", "'9999-12-31'", "'10000-01-01'"]),
        case("time", "time", Time, &["'00:00:00'", "'23:59:59.999999'", "'24:00:00'", "'12:00:00.5'"]),
        case("timetz", "timetz", Timetz, &["'00:00:00+1559'", "'23:59:59.999999-1559'", "'12:00:00.5+05:30'", "'10:00:00-03:30:15'", "'10:00:00+00'"]),
        case("timestamp", "timestamp", Timestamp, &["'4713-11-24 00:00:00 BC'", "'0044-03-15 12:00:00.5 BC'", "'0001-01-01 00:00:00'", "'294276-12-31 23:59:59.999999'", "'infinity'", "'-infinity'", "'1999-12-31 23:59:59.999999'", "'10000-01-01 00:00:00'"]),
        case("timestamptz", "timestamptz", Timestamptz, &["'4713-11-24 00:00:00+00 BC'", "'2024-01-02 03:04:05+02'", "'0001-01-01 00:00:00.000001+00 BC'", "'infinity'", "'-infinity'", "'294276-12-31 23:59:59.999999+00'"]),
        case("interval", "interval", Text, &["'1 year 2 mons 3 days 04:05:06.5'", "'-178000000 years'", "'0'", "'-1 day +00:00:01'", "'1 microsecond'", "'-2147483648 days'", "'2562047788:00:54.775807'"]),
        case("inet", "text", Text, &["'192.168.0.1'", "'192.168.0.1/24'", "'::1'", "'::ffff:1.2.3.4'", "'::1.2.3.4'", "'2001:db8::1/64'", "'::'", "'1:0:0:2:0:0:0:3'"]),
        case("cidr", "text", Text, &["'10.0.0.0/8'", "'2001:db8::/32'", "'0.0.0.0/0'", "'::ffff:1.2.3.0/120'"]),
        case("macaddr", "macaddr", Text, &["'08:00:2b:01:02:03'", "'ff:ff:ff:ff:ff:ff'"]),
        case("macaddr8", "macaddr8", Text, &["'08:00:2b:ff:fe:01:02:03'", "'00:00:00:00:00:00:00:00'"]),
        case("bit(5)", "bit", Text, &["B'10110'", "B'00000'"]),
        case("varbit", "varbit", Text, &["''", "B'1'", "B'1011000011110'"]),
        case("point", "point", Text, &["'(1.5,2)'", "'(-0,1e300)'", "'(NaN,Infinity)'", "'(0.1,1e-300)'", "'(123456789012345680000,1e15)'"]),
        case("line", "line", Text, &["'{1,-1,0}'", "'{0.1,2,1e100}'"]),
        case("lseg", "lseg", Text, &["'[(0,0),(1,1e100)]'"]),
        case("box", "box", Text, &["'(1,1),(0,0)'", "'(-1e-300,2),(3,4)'"]),
        case("path", "path", Text, &["'[(0,0),(1,1),(2,0)]'", "'((0,0),(1,1))'"]),
        case("polygon", "polygon", Text, &["'((0,0),(1,1),(2,0))'", "'((0.1,0.2))'"]),
        case("circle", "circle", Text, &["'<(0,0),0.1>'", "'<(1e100,-1),1e-5>'"]),
        case("tsvector", "tsvector", Text, &["''", "'a fat cat:2A,3 ''it''''s'':1B ü:4C'", "'back\\\\slash:1D'"]),
        case("tsquery", "tsquery", Text, &["'fat & (rat | !cat) <-> dog:*A'", "'!a'", "'a <3> b'", "'ü & ''x y'''", "''"]),
        case("int4range", "int4range", Text, &["'empty'", "'[1,5)'", "'(,)'", "'[,3]'", "'[-2147483648,2147483647)'"]),
        case("int8range", "int8range", Text, &["'[-9223372036854775808,9223372036854775807)'", "'(0,)'"]),
        case("numrange", "numrange", Text, &["'(1.5,)'", "'[-Infinity,Infinity]'", "'[0.000001,1e20]'"]),
        case("tsrange", "tsrange", Text, &["'[\"0044-03-15 12:00:00.5 BC\",\"2024-01-02 00:00:00\")'", "'[-infinity,infinity]'", "'empty'"]),
        case("tstzrange", "tstzrange", Text, &["'[\"2024-01-01 00:00:00+02\",)'", "'(,\"0001-01-01 00:00:00+00 BC\"]'"]),
        case("daterange", "daterange", Text, &["'[4713-11-24 BC,2024-01-01)'", "'[2024-01-01,infinity)'"]),
        case("int4multirange", "int4multirange", Text, &["'{}'", "'{[1,3), [5,7)}'"]),
        case("int8multirange", "int8multirange", Text, &["'{(,0), [5,)}'"]),
        case("nummultirange", "nummultirange", Text, &["'{[1.5,2.5]}'"]),
        case("tsmultirange", "tsmultirange", Text, &["'{[2024-01-01 00:00:00.25,2024-01-02)}'"]),
        case("tstzmultirange", "tstzmultirange", Text, &["'{[2024-01-01 00:00:00+00,)}'"]),
        case("datemultirange", "datemultirange", Text, &["'{[0001-01-01 BC,0001-01-01)}'"]),
        case("floatrange", "floatrange", Text, &["'[1.5,2.5)'", "'(,1e100]'", "'[-0,0.1]'"]),
        case("floatmultirange", "floatmultirange", Text, &["'{[1.5,2.5), [3,)}'"]),
        case("pg_lsn", "pg_lsn", Text, &["'0/0'", "'FFFFFFFF/FFFFFFFF'", "'16/B374D848'"]),
        case("tid", "tid", Text, &["'(0,0)'", "'(4294967295,65535)'"]),
        case("xid", "xid", Text, &["'0'", "'4294967295'"]),
        case("xid8", "xid8", Text, &["'0'", "'18446744073709551615'"]),
        case("cid", "cid", Text, &["'0'", "'4294967295'"]),
        case("txid_snapshot", "txid_snapshot", Text, &["'10:20:10,14,15'", "'3:3:'"]),
        case("pg_snapshot", "pg_snapshot", Text, &["'10:20:10,14,15'", "'3:3:'"]),
        case("regclass", "regclass", Text, &["'pg_class'", "'pg_catalog.pg_type'", "'c0'", "'0'"]),
        case("regtype", "regtype", Text, &["'int4'", "'character varying'", "'\"char\"'", "'mood'", "'0'"]),
        case("regproc", "regproc", Text, &["'now'", "'-'"]),
        case("regprocedure", "regprocedure", Text, &["'sum(int4)'", "'pg_catalog.format(text)'"]),
        case("regoper", "regoper", Text, &["'||/'"]),
        case("regoperator", "regoperator", Text, &["'+(int4,int4)'", "'-(NONE,int4)'"]),
        case("regconfig", "regconfig", Text, &["'english'"]),
        case("regdictionary", "regdictionary", Text, &["'simple'"]),
        case("regnamespace", "regnamespace", Text, &["'pg_catalog'"]),
        case("regrole", "regrole", Text, &["'postgres'"]),
        case("regcollation", "regcollation", Text, &["'\"C\"'", "'default'"]),
        case("int2vector", "int2[]", Vector(&Int), &["'1 2 3'", "''"]),
        case("oidvector", "int8[]", Vector(&Text), &["'1 4294967295'"]),
        case("mood", "text", Text, &["'sad'", "'ünïcode mood'", "'NULL'"]),
        case("posint", "int4", Int, &["1", "2147483647"]),
        case("shortrange", "int4range", Text, &["'[1,2]'"]),
        case("address", "address", Text, &[
            "ROW('Main \"St\", (1)', 1, '2024-01-01 00:00:00+02', '{a,\"b c\",NULL}', 12.5, '[1,3)', 'ünïcode mood')",
            "ROW(NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
            "ROW('', 0, '0044-03-15 BC', '{}', -0.01, 'empty', 'NULL')",
        ]),
        case("wrapper", "wrapper", Text, &["ROW(ROW('x y', 2, 'infinity', '{\"\"}', 0, '(,)', 'sad'), 'ü\\')", "ROW(NULL, NULL)"]),
        case("int4[]", "int4[]", Array(&Int, ','), &["'{1,NULL,3}'", "'{}'", "'{{1,2},{3,4}}'", "'{{{1},{2}}}'"]),
        case("text[]", "text[]", Array(&Text, ','), &["'{\"a b\",\"NULL\",NULL,\"\",\"q\\\"uote\",\"back\\\\\\\\slash\",\"{x}\"}'", "'{ü}'"]),
        case("float8[]", "float8[]", Array(&Float, ','), &["'{NaN,Infinity,-Infinity,-0,1e308,0.1}'"]),
        case("numeric[]", "numeric[]", Array(&Text, ','), &["'{NaN,1.50,-Infinity}'"]),
        case("bool[]", "bool[]", Array(&Bool, ','), &["'{t,f,NULL}'"]),
        case("bytea[]", "bytes[]", Array(&Bytea, ','), &["'{\"\\\\x00ff\",NULL,\"\\\\x\"}'"]),
        case("date[]", "date[]", Array(&Date, ','), &["'{0001-12-31 BC,infinity,2024-02-29}'"]),
        case("timestamptz[]", "timestamptz[]", Array(&Timestamptz, ','), &["'{\"2024-01-02 03:04:05.5+00\",\"0044-03-15 00:00:00+00 BC\"}'"]),
        case("timetz[]", "timetz[]", Array(&Timetz, ','), &["'{10:00:00+02,00:00:00.5-03:30}'"]),
        case("json[]", "json[]", Array(&Text, ','), &["'{\"{\\\"a\\\": 1e400}\",\"null\",NULL}'"]),
        case("jsonb[]", "json[]", Array(&Text, ','), &["'{\"[1.50, 1E+2]\",\"null\"}'"]),
        case("\"char\"[]", "text[]", Array(&Text, ','), &["'{a,\"\",\"\\\\\\\\\"}'"]),
        case("point[]", "point[]", Array(&Text, ','), &["'{\"(1,2)\",\"(NaN,-0)\"}'"]),
        case("box[]", "box[]", Array(&Text, ';'), &["'{(1,1),(0,0);(2,2),(1,1)}'"]),
        case("int4range[]", "int4range[]", Array(&Text, ','), &["'{\"[1,3)\",empty,NULL}'"]),
        case("regclass[]", "regclass[]", Array(&Text, ','), &["'{pg_class,c0}'"]),
        case("tsquery[]", "tsquery[]", Array(&Text, ','), &["'{\"a & b\",\"!c\"}'"]),
        case("mood[]", "text[]", Array(&Text, ','), &["'{sad,\"NULL\",NULL}'"]),
        case("address[]", "address[]", Array(&Text, ','), &["ARRAY[ROW('a', 1, NULL, NULL, 1, NULL, NULL)::address, NULL]"]),
        case("money[]", "money[]", Array(&Text, ','), &["'{1.50,-2}'"]),
        case("bit(3)[]", "bit[]", Array(&Text, ','), &["'{101,000}'"]),
        case("macaddr[]", "macaddr[]", Array(&Text, ','), &["'{08:00:2b:01:02:03}'"]),
        case("interval[]", "interval[]", Array(&Text, ','), &["'{\"1 day\",\"-1 year\"}'"]),
        case("floatrange[]", "floatrange[]", Array(&Text, ','), &["ARRAY['[1,2)'::floatrange]"]),
        case("uuid[]", "uuid[]", Array(&Text, ','), &["'{00000000-0000-0000-0000-000000000001}'"]),
        case("int2[]", "int2[]", Array(&Int, ','), &["'{-32768,32767}'"]),
        case("int8[]", "int8[]", Array(&Text, ','), &["'{-9223372036854775808,NULL}'"]),
        case("oid[]", "int8[]", Array(&Text, ','), &["'{4294967295}'"]),
        case("float4[]", "float4[]", Array(&Float, ','), &["'{0.1,NaN,-Infinity,1e-45}'"]),
        case("varchar(3)[]", "text[]", Array(&Text, ','), &["'{ab,\"\"}'"]),
        case("char(2)[]", "text[]", Array(&Text, ','), &["'{a,ü}'"]),
        case("name[]", "text[]", Array(&Text, ','), &["'{pg_class}'"]),
        case("xml[]", "text[]", Array(&Text, ','), &["ARRAY['<a/>'::xml]"]),
        case("time[]", "time[]", Array(&Time, ','), &["'{24:00:00,00:00:00.000001}'"]),
        case("timestamp[]", "timestamp[]", Array(&Timestamp, ','), &["'{\"4713-11-24 00:00:00 BC\",infinity}'"]),
        case("inet[]", "text[]", Array(&Text, ','), &["'{::1.2.3.4,10.0.0.1/8}'"]),
        case("cidr[]", "text[]", Array(&Text, ','), &["'{10.0.0.0/8}'"]),
        case("macaddr8[]", "macaddr8[]", Array(&Text, ','), &["'{08:00:2b:ff:fe:01:02:03}'"]),
        case("varbit[]", "varbit[]", Array(&Text, ','), &["'{\"\",1}'"]),
        case("line[]", "line[]", Array(&Text, ','), &["ARRAY['{1,-1,0}'::line]"]),
        case("lseg[]", "lseg[]", Array(&Text, ','), &["ARRAY['[(0,0),(1,1)]'::lseg]"]),
        case("path[]", "path[]", Array(&Text, ','), &["ARRAY['((0,0),(1,1))'::path]"]),
        case("polygon[]", "polygon[]", Array(&Text, ','), &["ARRAY['((0,0),(1,1),(1,0))'::polygon]"]),
        case("circle[]", "circle[]", Array(&Text, ','), &["ARRAY['<(0,0),1>'::circle]"]),
        case("tsvector[]", "tsvector[]", Array(&Text, ','), &["ARRAY['a:1 b'::tsvector]"]),
        case("jsonpath[]", "jsonpath[]", Array(&Text, ','), &["ARRAY['$.a'::jsonpath]"]),
        case("pg_lsn[]", "pg_lsn[]", Array(&Text, ','), &["'{0/0,FFFFFFFF/FFFFFFFF}'"]),
        case("tid[]", "tid[]", Array(&Text, ','), &["'{\"(0,1)\"}'"]),
        case("xid[]", "xid[]", Array(&Text, ','), &["'{1,4294967295}'"]),
        case("xid8[]", "xid8[]", Array(&Text, ','), &["'{18446744073709551615}'"]),
        case("cid[]", "cid[]", Array(&Text, ','), &["'{7}'"]),
        case("txid_snapshot[]", "txid_snapshot[]", Array(&Text, ','), &["'{10:20:10,3:3:}'"]),
        case("regtype[]", "regtype[]", Array(&Text, ','), &["'{int4,\"character varying\",mood}'"]),
        case("daterange[]", "daterange[]", Array(&Text, ','), &["'{\"[0001-01-01 BC,2024-01-01)\"}'"]),
        case("int8multirange[]", "int8multirange[]", Array(&Text, ','), &["ARRAY['{[1,2), [5,)}'::int8multirange]"]),
        case("floatmultirange[]", "floatmultirange[]", Array(&Text, ','), &["ARRAY['{[1.5,2)}'::floatmultirange]"]),
        case("wrapper[]", "wrapper[]", Array(&Text, ','), &["ARRAY[ROW(NULL, 'x')::wrapper]"]),
        case("posint[]", "int4[]", Array(&Int, ','), &["'{1,2}'"]),
    ]
}

/// The settings Sluice pins on its sessions; the direct reads use the same.
const SESSION: &str = "SET TimeZone = 'UTC'; SET DateStyle = ISO; SET IntervalStyle = iso_8601;
    SET extra_float_digits = 1; SET bytea_output = hex";

/// Each value's text over the simple-query (text) protocol, in row order.
async fn direct(client: &tokio_postgres::Client, sql: &str) -> Vec<Option<String>> {
    client
        .simple_query(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .into_iter()
        .filter_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_string)),
            _ => None,
        })
        .collect()
}

/// Money's text carries currency formatting (`$1,234.56`); its documented JSON form is the
/// amount, which PostgreSQL prints itself as `money::numeric`.
fn direct_sql(case: &Case, table: &str, column: &str) -> String {
    if case.sql.starts_with("money") {
        let cast = if case.sql.ends_with("[]") { "numeric[]" } else { "numeric" };
        format!("SELECT {column}::{cast} FROM {table} ORDER BY id")
    } else {
        format!("SELECT {column} FROM {table} ORDER BY id")
    }
}

async fn setup() -> (PgSchema, Vec<Case>) {
    let cases = cases();
    let mut sql = String::from(TYPES);
    for (i, c) in cases.iter().enumerate() {
        let rows: Vec<String> = c.values.iter().enumerate().map(|(k, v)| format!("({k}, {v})")).collect();
        sql.push_str(&format!(
            "CREATE TABLE c{i} (id int4, v {}); INSERT INTO c{i} VALUES {}, ({}, NULL);\n",
            c.sql,
            rows.join(", "),
            rows.len()
        ));
    }
    let schema = PgSchema::new(&sql).await;
    schema.client.batch_execute(SESSION).await.unwrap();
    (schema, cases)
}

#[tokio::test]
async fn every_postgres_type_reads_as_the_database_prints_it() {
    let (schema, cases) = setup().await;
    let sluice = Sluice::with_datasource(&schema.datasource("")).await;
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let table = format!("c{i}");
        let texts = direct(&schema.client, &direct_sql(c, &table, "v")).await;
        let expected: Vec<Value> = texts.iter().map(|t| c.form.expect(t.as_deref())).collect();
        let (status, body) = sluice.query(&format!("SELECT v FROM {table} ORDER BY id"), json!([])).await;
        if status != 200 {
            failures.push(format!("{}: {status} {body}", c.sql));
            continue;
        }
        compare(&mut failures, c.sql, &body, c.name, &expected);
    }
    assert_none(&failures);
}

/// Anonymous records: each field printed by its own type, quoted as `record_out` quotes.
#[tokio::test]
async fn records_of_every_type_read_as_the_database_prints_them() {
    let (schema, cases) = setup().await;
    let sluice = Sluice::with_datasource(&schema.datasource("")).await;
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let sql = format!("SELECT ROW(v, id, 'a b', NULL) AS r FROM c{i} ORDER BY id");
        let texts = direct(&schema.client, &sql).await;
        let expected: Vec<Value> = texts.iter().map(|t| Text.expect(t.as_deref())).collect();
        let (status, body) = sluice.query(&sql, json!([])).await;
        if status != 200 {
            failures.push(format!("ROW({}): {status} {body}", c.sql));
            continue;
        }
        compare(&mut failures, &format!("ROW({})", c.sql), &body, "record", &expected);
    }
    assert_none(&failures);
}

/// JSON keeps every digit and stays apart from SQL NULL; an empty `"char"` is empty.
#[tokio::test]
async fn json_is_its_text_and_json_null_is_not_sql_null() {
    let schema = PgSchema::new("").await;
    let sluice = Sluice::with_datasource(&schema.datasource("")).await;
    let body = sluice
        .ok(
            "SELECT '[0.1, 1.3e100, 123456789012345678901234567890.5]'::json AS a, '1e400'::jsonb AS b,
                    'null'::json AS c, NULL::json AS d, ''::\"char\" AS e",
            json!([]),
        )
        .await;
    assert_eq!(
        body["rows"][0],
        json!([
            "[0.1, 1.3e100, 123456789012345678901234567890.5]",
            format!("1{}", "0".repeat(400)),
            "null",
            null,
            ""
        ])
    );
}

/// `aclitem` and `gtsvector` have no binary form: their columns come back as the text
/// PostgreSQL prints, whatever holds them (an array, a composite, a domain).
const NO_BINARY: &str = "
    CREATE TYPE grantee AS (who aclitem, n int4);
    CREATE DOMAIN acl AS aclitem;
    CREATE TABLE a (id int4, v aclitem, vs aclitem[], g grantee, gs grantee[], d acl);
    INSERT INTO a VALUES
        (0, 'postgres=arwdDxt/postgres', '{postgres=r/postgres,=r/postgres}',
         ROW('=r*w/postgres', 1), ARRAY[ROW('postgres=r/postgres', NULL)::grantee, NULL], 'postgres=X/postgres'),
        (1, NULL, '{}', ROW(NULL, NULL), '{}', NULL),
        (2, '=U*/postgres', '[0:1]={postgres=C/postgres,NULL}', NULL, NULL, '=/postgres'),
        (3, 'postgres=arwdDxtXUCTc/postgres', '{{postgres=r/postgres},{=c/postgres}}', NULL, NULL, NULL),
        (4, NULL, NULL, NULL, NULL, NULL);
    -- gtsvector_in always fails, and no function returns a gtsvector: its values live only in
    -- GiST index pages. A binary-coercible cast from bytea, created and dropped in this same
    -- transaction (so no other session ever sees it), stores a few: an array key of 3 words,
    -- a signature of 8 bits set out of 16, an all-true signature.
    CREATE TABLE g (id int4, v gtsvector, vs gtsvector[]);
    CREATE CAST (bytea AS gtsvector) WITHOUT FUNCTION;
    INSERT INTO g VALUES
        (0, '\\x01000000010000000200000003000000'::bytea::gtsvector, NULL),
        (1, '\\x0200000000ff'::bytea::gtsvector, NULL),
        (2, '\\x060000000000'::bytea::gtsvector, NULL),
        (3, NULL, NULL);
    DROP CAST (bytea AS gtsvector);
    UPDATE g SET vs = ARRAY[v, NULL] WHERE v IS NOT NULL;
";

#[tokio::test]
async fn types_without_a_binary_form_read_as_the_database_prints_them() {
    let schema = PgSchema::new(NO_BINARY).await;
    schema.client.batch_execute(SESSION).await.unwrap();
    let sluice = Sluice::with_datasource(&schema.datasource("")).await;
    let mut failures = Vec::new();
    for (sql, ty, form) in [
        ("SELECT v FROM a ORDER BY id", "aclitem", Text),
        ("SELECT vs FROM a ORDER BY id", "aclitem[]", Array(&Text, ',')),
        ("SELECT g FROM a ORDER BY id", "grantee", Text),
        ("SELECT gs FROM a ORDER BY id", "grantee[]", Array(&Text, ',')),
        ("SELECT d FROM a ORDER BY id", "aclitem", Text),
        ("SELECT v FROM a ORDER BY id DESC LIMIT 3", "aclitem", Text),
        ("SELECT 'postgres=arwdDxt/postgres'::aclitem AS a", "aclitem", Text),
        ("SELECT NULL::aclitem AS a", "aclitem", Text),
        ("SELECT v FROM g ORDER BY id", "gtsvector", Text),
        ("SELECT vs FROM g ORDER BY id", "gtsvector[]", Array(&Text, ',')),
    ] {
        let texts = direct(&schema.client, sql).await;
        let expected: Vec<Value> = texts.iter().map(|t| form.expect(t.as_deref())).collect();
        let (status, body) = sluice.query(sql, json!([])).await;
        if status != 200 {
            failures.push(format!("{sql}: {status} {body}"));
            continue;
        }
        compare(&mut failures, sql, &body, ty, &expected);
    }
    assert_none(&failures);
}

/// The other columns pass through untouched, names (duplicates included) and parameters kept.
#[tokio::test]
async fn columns_around_a_type_without_a_binary_form_keep_their_names_types_and_order() {
    let schema = PgSchema::new(NO_BINARY).await;
    let sluice = Sluice::with_datasource(&schema.datasource("")).await;
    let body = sluice
        .ok(
            "SELECT v AS x, id, v AS x, $1::int4 AS p, 0.5::float4 AS f FROM a WHERE id < $2 ORDER BY id DESC",
            json!([7, 3]),
        )
        .await;
    let columns: Vec<(Value, Value)> =
        body["columns"].as_array().unwrap().iter().map(|c| (c["name"].clone(), c["type"].clone())).collect();
    assert_eq!(
        columns,
        [("x", "aclitem"), ("id", "int4"), ("x", "aclitem"), ("p", "int4"), ("f", "float4")]
            .map(|(n, t)| (json!(n), json!(t)))
    );
    assert_eq!(
        body["rows"],
        json!([
            ["=U*/postgres", 2, "=U*/postgres", 7, 0.5],
            [null, 1, null, 7, 0.5],
            ["postgres=arwdDxt/postgres", 0, "postgres=arwdDxt/postgres", 7, 0.5]
        ])
    );
}

/// A write returning such a column runs once, as a data-modifying CTE; one that cannot be
/// wrapped so is refused before anything runs. An anonymous record's fields are known only
/// when the server sends it, so one holding an `aclitem` fails there.
#[tokio::test]
async fn writes_returning_a_type_without_a_binary_form_run_once() {
    let schema = PgSchema::new(NO_BINARY).await;
    let sluice = Sluice::with_datasource(&schema.datasource("")).await;
    let body = sluice.ok("UPDATE a SET id = id + 10 WHERE id IN (0, 1) RETURNING id, v, vs", json!([])).await;
    assert_eq!((body["command"].clone(), body["rows_affected"].clone()), (json!("UPDATE"), json!(2)));
    let mut rows = body["rows"].as_array().unwrap().clone();
    rows.sort_by_key(|r| r[0].as_i64());
    assert_eq!(
        rows,
        [
            json!([10, "postgres=arwdDxt/postgres", ["postgres=r/postgres", "=r/postgres"]]),
            json!([11, null, []])
        ]
    );
    let body = sluice.ok("SELECT id FROM a ORDER BY id", json!([])).await;
    assert_eq!(body["rows"], json!([[2], [3], [4], [10], [11]]), "updated once");

    let message = sluice
        .err(
            "WITH gone AS (DELETE FROM a WHERE id = 10 RETURNING id) DELETE FROM a WHERE id IN (SELECT id + 1 FROM gone) RETURNING v",
            json!([]),
            "invalid_request",
        )
        .await;
    assert!(message.contains("aclitem"), "{message}");
    let body = sluice.ok("SELECT count(*) AS n FROM a", json!([])).await;
    assert_eq!(body["rows"], json!([["5"]]), "nothing ran");

    let message = sluice.err("SELECT ROW(v) AS r FROM a", json!([]), "upstream_error").await;
    assert!(message.contains("42883") && message.contains("aclitem"), "{message}");
}

/// Floats inside PostgreSQL text (a point, a record field, a range bound) are printed by Sluice:
/// the shortest decimal that reads back exactly, laid out as PostgreSQL lays it out. Checked on
/// a spread of bit patterns, subnormals and both layouts' thresholds included.
#[tokio::test]
async fn floats_inside_text_print_as_postgres_does() {
    let mut bits: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut doubles = vec![1e-5, 1e-4, 9.999e14, 1e15, 1e16, 123456.0, 5e-324, 2.2250738585072014e-308];
    let mut singles = vec![1e-5f32, 1e-4, 999999.0, 1e6, 1234567.0, 1e-45, 1.1754944e-38];
    for _ in 0..400 {
        // xorshift: a reproducible spread over every exponent.
        bits ^= bits << 13;
        bits ^= bits >> 7;
        bits ^= bits << 17;
        let d = f64::from_bits(bits);
        if d.is_finite() {
            doubles.push(d);
        }
        let s = f32::from_bits((bits >> 32) as u32);
        if s.is_finite() {
            singles.push(s);
        }
    }
    let d_rows: Vec<String> = doubles.iter().enumerate().map(|(i, d)| format!("({i}, '{d:e}')")).collect();
    let s_rows: Vec<String> = singles.iter().enumerate().map(|(i, s)| format!("({i}, '{s:e}')")).collect();
    let schema = PgSchema::new(&format!(
        "CREATE TABLE d (id int4, v float8); INSERT INTO d VALUES {};
         CREATE TABLE s (id int4, v float4); INSERT INTO s VALUES {};",
        d_rows.join(", "),
        s_rows.join(", ")
    ))
    .await;
    schema.client.batch_execute(SESSION).await.unwrap();
    let sluice = Sluice::with_datasource(&schema.datasource("")).await;
    let mut failures = Vec::new();
    for sql in [
        "SELECT point(v, -v) AS p FROM d ORDER BY id",
        "SELECT ROW(v) AS r FROM d ORDER BY id",
        "SELECT ROW(v) AS r FROM s ORDER BY id",
    ] {
        let texts = direct(&schema.client, sql).await;
        let expected: Vec<Value> = texts.iter().map(|t| Text.expect(t.as_deref())).collect();
        let body = sluice.ok(sql, json!([])).await;
        let ty = body["columns"][0]["type"].as_str().unwrap().to_string();
        compare(&mut failures, sql, &body, &ty, &expected);
    }
    assert_none(&failures);
}
