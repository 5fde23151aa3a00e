/**
 * The routes that need an owner's signature as well as a token: owner changes and yanks. The
 * body is a DSSE envelope; its signer must be a current owner of the package.
 * @module
 */
import {
  ConflictError,
  type Envelope,
  fingerprint,
  fromBase64,
  type Logger,
  NotFoundError,
  type OwnersStatement,
  parseEnvelope,
  PAYLOAD_TYPES,
  TrustError,
  ValidationError,
  verifyEnvelope,
  type YankStatement,
} from "../../core/mod.ts";
import { authorize } from "./auth.ts";
import { readBody } from "./body.ts";
import { json } from "./http_errors.ts";
import type { MetadataStore } from "./storage.ts";

/** Collaborators of the owner routes */
export interface OwnerRoutesComponents {
  metadata: MetadataStore;
  logger: Logger;
}

/** Options of the owner routes */
export interface OwnerRoutesInit {
  /** Deadline for reading a request body */
  bodyTimeoutMs: number;
}

/** Owner changes and yanks */
export interface OwnerRoutes {
  /** POST owners: an owner change signed by a current owner */
  changeOwners(req: Request, id: string): Promise<Response>;
  /** POST yank/unyank: a token with the yank scope and a statement signed by a current owner */
  setYanked(req: Request, id: string, version: string, yanked: boolean): Promise<Response>;
}

/** Create the owner routes */
export function createOwnerRoutes(components: OwnerRoutesComponents, init: OwnerRoutesInit): OwnerRoutes {
  const { metadata } = components;
  const log = components.logger.child("registry");
  const bodyTimeout = init.bodyTimeoutMs;

  /** Read an envelope from the body and verify it was made by a current owner of `id` */
  async function readOwnerSigned<T>(
    req: Request,
    id: string,
    payloadType: string,
    what: string,
  ): Promise<{ statement: T; envelope: Envelope }> {
    const owners = await metadata.getOwners(id);
    if (owners.length === 0) throw new NotFoundError(`Package "${id}" not found`);
    const raw = await readBody(req, 64 * 1024, bodyTimeout);
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(JSON.parse(new TextDecoder().decode(raw)));
    } catch (err) {
      throw new ValidationError(`Invalid ${what}: send the envelope signed by an owner's key`, { cause: err });
    }
    const signerId = envelope.signatures[0]!.keyid;
    const signer = owners.find((o) => o.keyid === signerId);
    if (!signer) throw new TrustError(`Refusing ${what} of "${id}": signed by ${signerId}, who is not an owner`);
    const { statement } = await verifyEnvelope<T>(envelope, payloadType, fromBase64(signer.public_key));
    return { statement, envelope };
  }

  /** POST owners: an owner change signed by a current owner */
  async function changeOwners(req: Request, id: string): Promise<Response> {
    await authorize(metadata, req.headers.get("authorization"), "owners", id);
    const { statement, envelope } = await readOwnerSigned<OwnersStatement>(
      req,
      id,
      PAYLOAD_TYPES.owners,
      "owner change",
    );
    if (
      statement.type !== "ggen.owners/1" || statement.package_id !== id || !["add", "remove"].includes(statement.action)
    ) {
      throw new ValidationError(`Invalid owner change for "${id}"`);
    }
    if (statement.action === "add" && fingerprint(fromBase64(statement.public_key)) !== statement.keyid) {
      throw new ValidationError("Invalid owner change: keyid does not match public_key");
    }
    await metadata.changeOwners(id, {
      action: statement.action,
      keyid: statement.keyid,
      publicKey: statement.public_key,
      seq: statement.seq,
      envelope,
    });
    log.info(`owners of ${id}: ${statement.action} ${statement.keyid}`);
    return json({ owners: await metadata.getOwners(id) });
  }

  /** POST yank/unyank: a token with the yank scope and a statement signed by a current owner */
  async function setYanked(req: Request, id: string, version: string, yanked: boolean): Promise<Response> {
    await authorize(metadata, req.headers.get("authorization"), "yank", id);
    const { statement } = await readOwnerSigned<YankStatement>(req, id, PAYLOAD_TYPES.yank, yanked ? "yank" : "unyank");
    if (
      statement.type !== "ggen.yank/1" || statement.package_id !== id || statement.version !== version ||
      statement.yanked !== yanked
    ) {
      throw new ValidationError(`Invalid ${yanked ? "yank" : "unyank"}: the signed statement is for another change`);
    }
    const seq = await metadata.packageSeq(id);
    if (statement.package_seq !== seq) {
      throw new ConflictError(
        `Refusing ${
          yanked ? "yank" : "unyank"
        } of "${id}@${version}": signed at package seq ${statement.package_seq}, ` +
          `the package is at ${seq} (a replay, or a change raced it: run the command again)`,
      );
    }
    if (!await metadata.setYanked(id, version, yanked)) throw new NotFoundError(`Package "${id}@${version}" not found`);
    log.info(`${yanked ? "yanked" : "unyanked"} ${id}@${version}`);
    return json({ ok: true, id, version, yanked });
  }

  return { changeOwners, setYanked };
}
