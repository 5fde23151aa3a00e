/**
 * Core types shared by every layer: the package model, manifest, errors, digests, the
 * Registry interface and resolution. No I/O.
 * @module
 */
export * from "./base.ts";
export * from "./manifest.ts";
export * from "./package_toml.ts";
export * from "./package.ts";
export * from "./registry.ts";
export * from "./digest.ts";
export * from "./resolve.ts";
export * from "./api.ts";
export * from "./envelope.ts";
export * from "./fts.ts";
export * from "./wire.ts";
export * from "./rate_limit.ts";
export * from "./abort.ts";
