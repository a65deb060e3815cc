/** The wall clock for real rollouts (tests inject their own Clock). */
import { setTimeout as sleep } from "node:timers/promises";
import type { Clock } from "./ports";

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) => sleep(ms, undefined, signal ? { signal } : undefined),
};
