/**
 * Blobs in any S3-compatible object store (`@aws-sdk/client-s3`), for several registry instances
 * sharing one bucket: objects named by their SHA-256 under an optional prefix, downloads
 * streamed (ranged reads are S3 `Range` requests). Configured as
 * `blobs = "s3://BUCKET/PREFIX?endpoint=URL&region=REGION"`; the credentials come from the
 * standard `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` environment, never from the file.
 * @module
 */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { assertSha256Hex, ConfigError, isSha256Hex } from "../../core/mod.ts";
import type { BlobStore } from "./storage.ts";

/** Where the blobs live, parsed from an `s3://` URL */
export interface S3Location {
  bucket: string;
  /** Key prefix, "" or ending in "/" */
  prefix: string;
  /** The service's URL (any S3-compatible server); AWS when absent */
  endpoint?: string;
  region: string;
}

/** Parse `s3://bucket/prefix?endpoint=…&region=…`, naming `key` in errors */
export function parseS3Url(value: string, key: string): S3Location {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${key}: "${value}" is not a URL such as s3://bucket?endpoint=http://127.0.0.1:8080`);
  }
  if (url.protocol !== "s3:" || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(url.hostname)) {
    throw new ConfigError(`${key}: expected s3://BUCKET[/PREFIX][?endpoint=URL&region=REGION], not "${value}"`);
  }
  if (url.username || url.password) {
    throw new ConfigError(`${key}: must not hold credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`);
  }
  for (const name of url.searchParams.keys()) {
    if (name !== "endpoint" && name !== "region") {
      throw new ConfigError(`${key}: unknown parameter "${name}" (endpoint and region are known)`);
    }
  }
  const prefix = url.pathname.replace(/^\/+/, "");
  const endpoint = url.searchParams.get("endpoint") ?? undefined;
  if (endpoint && !/^https?:\/\//.test(endpoint)) throw new ConfigError(`${key}: endpoint must be an http(s) URL`);
  return {
    bucket: url.hostname,
    prefix: prefix && !prefix.endsWith("/") ? `${prefix}/` : prefix,
    ...(endpoint ? { endpoint } : {}),
    region: url.searchParams.get("region") ?? "us-east-1",
  };
}

/** Open the store (the bucket is created when missing) */
export async function createS3BlobStore(location: S3Location): Promise<BlobStore> {
  const client = new S3Client({
    region: location.region,
    // Object stores answer 503 SlowDown under load and expect it retried with backoff (the SDK
    // does, three attempts by default): five ride out a longer burst
    maxAttempts: 5,
    ...(location.endpoint ? { endpoint: location.endpoint, forcePathStyle: true } : {}),
  });
  const { bucket, prefix } = location;
  const key = (sha256: string) => {
    assertSha256Hex(sha256);
    return `${prefix}${sha256}`;
  };
  const notFound = (err: unknown) => {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    return e.name === "NoSuchKey" || e.name === "NotFound" || e.$metadata?.httpStatusCode === 404;
  };
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (err) {
    if (!notFound(err)) throw err;
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  }
  return {
    async put(sha256, bytes) {
      // One PUT is atomic in S3: readers see the whole object or none
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key(sha256), Body: bytes }));
    },
    async open(sha256, range) {
      try {
        const res = await client.send(
          new GetObjectCommand({
            Bucket: bucket,
            Key: key(sha256),
            ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
          }),
        );
        return res.Body?.transformToWebStream() as ReadableStream<Uint8Array> | undefined;
      } catch (err) {
        if (notFound(err)) return undefined;
        throw err;
      }
    },
    async size(sha256) {
      try {
        return (await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key(sha256) }))).ContentLength;
      } catch (err) {
        if (notFound(err)) return undefined;
        throw err;
      }
    },
    async delete(sha256) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key(sha256) }));
    },
    async list() {
      const out: string[] = [];
      let token: string | undefined;
      // Bounded: at most 10,000 pages of 1,000 keys
      for (let page = 0; page < 10_000; page++) {
        const res = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const o of res.Contents ?? []) {
          const name = (o.Key ?? "").slice(prefix.length);
          if (isSha256Hex(name)) out.push(name);
        }
        if (!res.IsTruncated || !res.NextContinuationToken) break;
        token = res.NextContinuationToken;
      }
      return out;
    },
    async check() {
      await client.send(new HeadBucketCommand({ Bucket: bucket }));
    },
  };
}
