/**
 * Deterministic variant assignment: the same (experiment name, key) always lands on the same
 * variant, in every pod and after every restart, because it depends on nothing but a hash.
 *
 * Bucket = the first 64 bits of sha256(utf8(name) || 0x00 || utf8(key)), read big-endian, scaled
 * to [0, 10000) basis points; a key is in the treatment when its bucket < treatmentPercent x 100.
 * The 0x00 separator keeps the encoding unambiguous (experiment names cannot contain it), and
 * hashing the name in means a user's variant in one experiment says nothing about another.
 * sha256 over a canonical encoding is the choice rather than murmur/xxhash: every language has
 * it, so an analysis job elsewhere can recompute an assignment exactly.
 */
import { createHash } from "node:crypto";

export const VARIANTS = ["control", "treatment"] as const;
export type Variant = (typeof VARIANTS)[number];

/** Basis points in the whole key space (a bucket is one of 0..9999). */
export const BUCKETS = 10_000;

/** sha256 of the canonical encoding of (experiment name, key). */
export function assignmentDigest(experiment: string, key: string): Buffer {
  return createHash("sha256").update(experiment, "utf8").update("\0").update(key, "utf8").digest();
}

/** The key's bucket in [0, {@link BUCKETS}). */
export function bucketOf(experiment: string, key: string): number {
  const top64 = assignmentDigest(experiment, key).readBigUInt64BE(0);
  return Number((top64 * BigInt(BUCKETS)) >> 64n);
}

/** The variant of `key` in `experiment` when `treatmentPercent` (0-100) of keys get the treatment. */
export function assignVariant(experiment: string, key: string, treatmentPercent: number): Variant {
  return bucketOf(experiment, key) < treatmentPercent * (BUCKETS / 100) ? "treatment" : "control";
}

/**
 * A pseudonymous, joinable stand-in for the key in recorded predictions and outcomes (the raw
 * user id never leaves the pod): 128 bits of the same digest, hex.
 */
export function keyHash(experiment: string, key: string): string {
  return assignmentDigest(experiment, key).subarray(0, 16).toString("hex");
}
