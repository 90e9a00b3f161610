// The `sluice:policy/host@0.1.0` imports for components transpiled by jco in tests.
export const state = { nowMs: 0n, logs: [] };
export function log(level, message) {
  state.logs.push([level, message]);
}
export function nowMs() {
  return state.nowMs;
}
