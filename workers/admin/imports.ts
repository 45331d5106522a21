/**
 * Bulk imports for the ETL manager (`POST /admin/imports/{kind}`): retailers' offers, charities,
 * officer accounts from precinct IT, and users' display names, as NDJSON or CSV.
 *
 * Every row is validated on its own with the schema of the single-item endpoint (`POST /offers`,
 * `POST /charities`, `PUT /users/{id}/profile`), then compared with what is stored under its id:
 * - a new id is written (`imported`);
 * - the same values as stored are `unchanged`, so uploading a file again changes nothing (names are
 *   handed to the leaderboards again, which completes an earlier upload that failed half-way);
 * - other values: offers and charities are rejected, as `POST /offers` answers 409 to an id reused
 *   with other terms (an offer's terms are those it was created with — `stock` counts its initial
 *   value, since redemptions lower the stock left); users and officers are updated (`imported`), as
 *   `PUT /users/{id}/profile` sets a name.
 * An id repeated within one file with other values is rejected at its later line. The valid rows
 * are written in one D1 batch, whatever others were rejected; names go through `setDisplayNames`,
 * the one path that also renames leaderboard rows. Reads and writes bind their ids and rows as JSON
 * parameters of about 1 MB (`jsonChunks`), so a 5 MiB file of 120,000 tiny rows takes about ten
 * D1 statements, within the 1,000 queries one Worker invocation may make.
 */
import { inArray } from "drizzle-orm";
import Papa from "papaparse";
import { z } from "zod";
import { displayNameSchema } from "../../shared/campaigns.ts";
import { readByJsonIds, writeJsonRows } from "../../shared/db/chunks.ts";
import { database, schema } from "../../shared/db/client.ts";
import type { FieldError } from "../../shared/errors.ts";
import { idSchema } from "../../shared/ids.ts";
import { sameTerms } from "../../shared/same-terms.ts";
import { newOfferTerms, storedOfferTerms } from "../connections/rewards.ts";
import { newCharitySchema, newOfferSchema } from "../connections/schemas.ts";
import { fieldErrors } from "../http/validation.ts";
import { setDisplayNames } from "../users/display-names.ts";

export const IMPORT_KINDS = ["offers", "charities", "officers", "users"] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];

/** A rejected row: its line and why. */
export interface Rejection {
  line: number;
  errors: FieldError[];
}

export interface ImportResult {
  imported: number;
  unchanged: number;
  /** The first `MAX_LISTED_REJECTIONS` rejected rows by line. */
  rejected: Rejection[];
  /** Every rejected row, listed or not. */
  rejectedCount: number;
}

/**
 * The most rejected rows one answer lists. Without a bound, 1 MiB of invalid lines was answered
 * with a 59 MB body, and 5 MiB would pass the isolate's 128 MB; the count still says how many.
 */
export const MAX_LISTED_REJECTIONS = 1000;

/**
 * The rejected rows of one import, kept to the first `MAX_LISTED_REJECTIONS` by line while
 * counting them all. Rows are rejected out of line order (parsing, then validation, then the
 * comparison with storage), so the list is cut only when it has grown to twice the bound, which
 * keeps memory bounded and the cost of sorting linear in the rows overall.
 */
class Rejections {
  private listed: Rejection[] = [];
  count = 0;

  add(rejection: Rejection): void {
    this.count++;
    this.listed.push(rejection);
    if (this.listed.length >= 2 * MAX_LISTED_REJECTIONS) this.cut();
  }

  /** The first rejected rows by line, at most `MAX_LISTED_REJECTIONS`. */
  first(): Rejection[] {
    this.cut();
    return this.listed;
  }

  private cut(): void {
    this.listed.sort((a, b) => a.line - b.line);
    if (this.listed.length > MAX_LISTED_REJECTIONS) this.listed.length = MAX_LISTED_REJECTIONS;
  }
}

/** One row of the file before validation: its line number (CSV: the header is line 1) and its fields. */
interface RawRow {
  line: number;
  fields: Record<string, unknown>;
}

/** How one kind of row is validated, keyed, compared with storage and written. */
interface Importer<Row> {
  schema: z.ZodType<Row>;
  /** The id field, named in errors about the id. */
  idField: string;
  idOf(row: Row): string;
  /** Fields that are numbers: a CSV cell holds text, so these are read as numbers when they look like one. */
  numericFields: readonly string[];
  /** The comparable terms of the rows stored under these ids. */
  stored(env: Env, ids: string[]): Promise<Map<string, unknown>>;
  termsOf(row: Row): unknown;
  /** Whether a row may change what is stored under its id (or is rejected like a reused id). */
  updates: boolean;
  /**
   * Whether rows equal to what is stored are written again too (still counted `unchanged`): their
   * write reaches beyond D1 (leaderboard names), which an earlier upload that failed half-way may
   * have left undone, so uploading the file again completes it. The write must be idempotent.
   */
  reapplies?: boolean;
  write(env: Env, rows: Row[]): Promise<void>;
}

/** An officer's precinct as precinct IT names it. */
const precinctSchema = z.string().trim().min(1, "must not be empty").max(100, "must be at most 100 characters");

const offerRowSchema = newOfferSchema.required({ offerId: true });
const charityRowSchema = newCharitySchema.required({ charityId: true });
const userRowSchema = z.object({ userId: idSchema, displayName: displayNameSchema });
const officerRowSchema = z.object({ officerId: idSchema, displayName: displayNameSchema, precinct: precinctSchema });

type ProfileTerms = { displayName: string; precinct: string | null };

async function storedProfiles(env: Env, ids: string[]): Promise<Map<string, ProfileTerms>> {
  const p = schema.displayNames;
  const rows = await readByJsonIds(ids.map(Number), (part) =>
    database(env.DB)
      .select({ userId: p.userId, displayName: p.displayName, precinct: p.precinct })
      .from(p)
      .where(inArray(p.userId, part)),
  );
  return new Map(rows.map((row) => [String(row.userId), { displayName: row.displayName, precinct: row.precinct }]));
}

const offers: Importer<z.output<typeof offerRowSchema>> = {
  schema: offerRowSchema,
  idField: "offerId",
  idOf: (row) => row.offerId,
  numericFields: ["pointsCost", "stock"],
  async stored(env, ids) {
    const o = schema.offers;
    const rows = await readByJsonIds(ids, (part) => database(env.DB).select().from(o).where(inArray(o.offerId, part)));
    return new Map(rows.map((row) => [row.offerId, storedOfferTerms(row)]));
  },
  termsOf: newOfferTerms,
  updates: false,
  async write(env, rows) {
    const values = rows.map((row) => ({ offerId: row.offerId, retailer: row.retailer, title: row.title, pointsCost: row.pointsCost, stock: row.stock ?? null }));
    // `WHERE true` tells SQLite's parser that ON CONFLICT belongs to the INSERT, not to a join.
    await writeJsonRows(
      env.DB,
      `INSERT INTO offers (offer_id, retailer, title, points_cost, stock, initial_stock, created_at)
       SELECT value ->> 'offerId', value ->> 'retailer', value ->> 'title', value ->> 'pointsCost', value ->> 'stock', value ->> 'stock', ?2
       FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING`,
      values,
      Date.now(),
    );
  },
};

const charities: Importer<z.output<typeof charityRowSchema>> = {
  schema: charityRowSchema,
  idField: "charityId",
  idOf: (row) => row.charityId,
  numericFields: [],
  async stored(env, ids) {
    const t = schema.charities;
    const rows = await readByJsonIds(ids, (part) => database(env.DB).select().from(t).where(inArray(t.charityId, part)));
    return new Map(rows.map((row) => [row.charityId, { name: row.name }]));
  },
  termsOf: (row) => ({ name: row.name }),
  updates: false,
  async write(env, rows) {
    await writeJsonRows(
      env.DB,
      `INSERT INTO charities (charity_id, name, points_donated, created_at)
       SELECT value ->> 'charityId', value ->> 'name', 0, ?2 FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING`,
      rows.map((row) => ({ charityId: row.charityId, name: row.name })),
      Date.now(),
    );
  },
};

const users: Importer<z.output<typeof userRowSchema>> = {
  schema: userRowSchema,
  idField: "userId",
  idOf: (row) => row.userId,
  numericFields: [],
  async stored(env, ids) {
    const profiles = await storedProfiles(env, ids);
    return new Map([...profiles].map(([id, profile]) => [id, { displayName: profile.displayName }]));
  },
  termsOf: (row) => ({ displayName: row.displayName }),
  updates: true,
  reapplies: true,
  write: (env, rows) => setDisplayNames(env, rows),
};

const officers: Importer<z.output<typeof officerRowSchema>> = {
  schema: officerRowSchema,
  idField: "officerId",
  idOf: (row) => row.officerId,
  numericFields: [],
  stored: storedProfiles,
  termsOf: (row) => ({ displayName: row.displayName, precinct: row.precinct }),
  updates: true,
  reapplies: true,
  write: (env, rows) =>
    setDisplayNames(
      env,
      rows.map((row) => ({ userId: row.officerId, displayName: row.displayName, precinct: row.precinct })),
    ),
};

/** Reads NDJSON: one JSON object a line; blank lines are skipped. */
function ndjsonRows(text: string, rejected: Rejections): RawRow[] {
  const rows: RawRow[] = [];
  text.split("\n").forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      rejected.add({ line, errors: [{ path: "row", message: `is not JSON: ${(error as Error).message}` }] });
      return;
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      rejected.add({ line, errors: [{ path: "row", message: "must be a JSON object" }] });
      return;
    }
    rows.push({ line, fields: value as Record<string, unknown> });
  });
  return rows;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Reads CSV with papaparse (quoted fields may hold commas and line breaks): the first row names
 * the fields. An empty cell is a missing field; a numeric field's cell that looks like a number is
 * read as one, anything else is left as text for the schema to refuse by name. Rows of blank
 * cells are skipped.
 */
function csvRows(text: string, numericFields: readonly string[], rejected: Rejections): RawRow[] {
  const rows: RawRow[] = [];
  let header: string[] | undefined;
  let start = 0;
  let line = 1;
  Papa.parse<string[]>(text, {
    delimiter: ",",
    step: (result) => {
      const end = result.meta.cursor;
      // The row's line is the one it starts on: count the line breaks before it.
      const rowLine = line;
      for (let i = start; i < end; i++) if (text.charCodeAt(i) === 10) line++;
      start = end;
      const cells = result.data;
      if (cells.every((cell) => cell.trim() === "")) return;
      if (result.errors.length > 0) {
        rejected.add({ line: rowLine, errors: result.errors.map((error) => ({ path: "row", message: error.message })) });
        return;
      }
      if (!header) {
        header = cells.map((cell) => cell.trim());
        return;
      }
      if (cells.length !== header.length) {
        rejected.add({ line: rowLine, errors: [{ path: "row", message: `has ${cells.length} fields; the header has ${header.length}` }] });
        return;
      }
      const fields: Record<string, unknown> = {};
      header.forEach((name, i) => {
        const cell = cells[i]!;
        if (cell === "") return;
        fields[name] = numericFields.includes(name) && NUMBER.test(cell.trim()) ? Number(cell) : cell;
      });
      rows.push({ line: rowLine, fields });
    },
  });
  return rows;
}

async function importWith<Row>(env: Env, importer: Importer<Row>, raw: RawRow[], rejected: Rejections): Promise<ImportResult> {
  const valid: { line: number; row: Row; id: string; terms: unknown }[] = [];
  for (const { line, fields } of raw) {
    const parsed = importer.schema.safeParse(fields);
    if (!parsed.success) {
      rejected.add({ line, errors: fieldErrors(parsed.error) });
      continue;
    }
    valid.push({ line, row: parsed.data, id: importer.idOf(parsed.data), terms: importer.termsOf(parsed.data) });
  }

  const stored = await importer.stored(env, [...new Set(valid.map((entry) => entry.id))]);
  const seen = new Map<string, { line: number; terms: unknown }>();
  const toWrite: Row[] = [];
  const toReapply: Row[] = [];
  let unchanged = 0;
  for (const entry of valid) {
    const earlier = seen.get(entry.id);
    if (earlier) {
      if (sameTerms(earlier.terms, entry.terms)) unchanged++;
      else rejected.add({ line: entry.line, errors: [{ path: importer.idField, message: `repeats line ${earlier.line} with other values` }] });
      continue;
    }
    seen.set(entry.id, { line: entry.line, terms: entry.terms });
    const before = stored.get(entry.id);
    if (before !== undefined && sameTerms(before, entry.terms)) {
      unchanged++;
      if (importer.reapplies) toReapply.push(entry.row);
    } else if (before !== undefined && !importer.updates) {
      rejected.add({ line: entry.line, errors: [{ path: importer.idField, message: `${entry.id} already exists with other values` }] });
    } else {
      toWrite.push(entry.row);
    }
  }
  await importer.write(env, [...toWrite, ...toReapply]);
  return { imported: toWrite.length, unchanged, rejected: rejected.first(), rejectedCount: rejected.count };
}

/**
 * Imports the rows of an NDJSON (`ndjson`) or CSV (`csv`) body as `kind`; valid rows are stored
 * even when others are rejected. Idempotent: the same file again is all `unchanged`.
 */
export async function importRows(env: Env, kind: ImportKind, format: "ndjson" | "csv", text: string): Promise<ImportResult> {
  const rejected = new Rejections();
  const run = <Row>(importer: Importer<Row>) =>
    importWith(env, importer, format === "csv" ? csvRows(text, importer.numericFields, rejected) : ndjsonRows(text, rejected), rejected);
  switch (kind) {
    case "offers":
      return run(offers);
    case "charities":
      return run(charities);
    case "officers":
      return run(officers);
    case "users":
      return run(users);
  }
}
