/**
 * The incentive catalogue in D1 and employers' links to it: creating, changing and listing
 * incentives, attaching and detaching them, and the award candidates an employer's events can
 * earn. Route handlers and consumers go through here; nothing else writes these tables.
 */
import { and, asc, eq, inArray, isNull } from "drizzle-orm";
import type { AwardCandidate, AwardRule } from "../../durable-objects/user/streak-rules.ts";
import { d1Chunks } from "../../shared/db/chunks.ts";
import { database, schema } from "../../shared/db/client.ts";
import { sameTerms } from "../../shared/same-terms.ts";
import { toIso, utcDayNumber } from "../../shared/time.ts";
import { ApiError } from "../http/problem.ts";
import type { EmployerIncentiveJson, IncentiveJson, IncentivePatch, Rule } from "./schemas.ts";

const { incentives, employerIncentives } = schema;

/** A catalogue row as stored. */
export type IncentiveRow = typeof incentives.$inferSelect;
/** An employer's link to a catalogue incentive as stored. */
export type EmployerIncentiveRow = typeof employerIncentives.$inferSelect;

function ruleOf(row: IncentiveRow): Rule {
  if (row.ruleKind === "streak") return { kind: "streak", event: row.event, days: row.days ?? 1 };
  if (row.ruleKind === "count") return { kind: "count", event: row.event, times: row.times ?? 1, withinDays: row.withinDays ?? 1 };
  return { kind: "once", event: row.event };
}

/** The rule's columns: each kind sets its own and clears the others'. */
function ruleColumns(rule: Rule): Pick<IncentiveRow, "ruleKind" | "event" | "days" | "times" | "withinDays"> {
  return {
    ruleKind: rule.kind,
    event: rule.event,
    days: rule.kind === "streak" ? rule.days : null,
    times: rule.kind === "count" ? rule.times : null,
    withinDays: rule.kind === "count" ? rule.withinDays : null,
  };
}

/** The rule as the User object evaluates it: the event is implied by the candidate's key. */
function awardRuleOf(rule: Rule): AwardRule {
  if (rule.kind === "streak") return { kind: "streak", days: rule.days };
  if (rule.kind === "count") return { kind: "count", times: rule.times, withinDays: rule.withinDays };
  return { kind: "once" };
}

/** An attached incentive as an award candidate. */
export function toCandidate(link: EmployerIncentiveRow, incentive: IncentiveRow): AwardCandidate {
  return {
    employerIncentiveId: String(link.employerIncentiveId),
    incentiveId: String(link.incentiveId),
    rule: awardRuleOf(ruleOf(incentive)),
    reward: { description: link.rewardDescription },
    ...(link.countFromDay === null ? {} : { sinceDay: link.countFromDay }),
  };
}

export function toIncentiveJson(row: IncentiveRow): IncentiveJson {
  return {
    incentiveId: String(row.incentiveId),
    name: row.name,
    description: row.description,
    rule: ruleOf(row),
    active: row.active,
  };
}

export function toEmployerIncentiveJson(row: EmployerIncentiveRow): EmployerIncentiveJson {
  return {
    employerIncentiveId: String(row.employerIncentiveId),
    employerId: String(row.employerId),
    programId: String(row.programId),
    incentiveId: String(row.incentiveId),
    reward: { description: row.rewardDescription },
    shareWithWebhooks: row.shareWithWebhooks,
    ...(row.detachedAt === null ? {} : { detachedAt: toIso(row.detachedAt) }),
  };
}

/**
 * Adds an incentive to the catalogue. With a client-chosen id, sending the same incentive again
 * returns it unchanged and a different one under that id is 409.
 */
export async function createIncentive(
  d1: D1Database,
  input: { incentiveId?: string; name: string; description: string; rule: Rule; active: boolean },
): Promise<IncentiveJson> {
  const db = database(d1);
  const values = {
    ...(input.incentiveId === undefined ? {} : { incentiveId: Number(input.incentiveId) }),
    name: input.name,
    description: input.description,
    ...ruleColumns(input.rule),
    active: input.active,
    createdAt: Date.now(),
  };
  const [inserted] = await db.insert(incentives).values(values).onConflictDoNothing().returning();
  if (inserted) return toIncentiveJson(inserted);
  const [existing] = await db.select().from(incentives).where(eq(incentives.incentiveId, Number(input.incentiveId)));
  if (!existing) throw new ApiError("unavailable", "the incentive vanished while it was created; retry");
  const first = toIncentiveJson(existing);
  const wanted: IncentiveJson = { ...first, name: input.name, description: input.description, rule: input.rule, active: input.active };
  if (!sameTerms(first, wanted)) {
    throw new ApiError("idempotency_conflict", `incentive ${first.incentiveId} already exists with different content`);
  }
  return first;
}

/**
 * Changes a catalogue incentive: name, description, whether it is active, and its rule's numbers
 * (`kind` and `event` stay: 422 otherwise). Returns it with the employers it is attached to (not
 * detached), whose users' history the caller has evaluated against it.
 */
export async function updateIncentive(
  d1: D1Database,
  incentiveId: string,
  patch: IncentivePatch,
): Promise<{ incentive: IncentiveJson; employerIds: string[] }> {
  const db = database(d1);
  const id = Number(incentiveId);
  const [existing] = await db.select().from(incentives).where(eq(incentives.incentiveId, id));
  if (!existing) throw new ApiError("not_found", `no incentive ${incentiveId}`);
  const rule = patch.rule;
  if (rule !== undefined) {
    const before = ruleOf(existing);
    for (const field of ["kind", "event"] as const) {
      if (rule[field] === before[field]) continue;
      const message = `must stay ${JSON.stringify(before[field])}: a rule's ${field} cannot change`;
      throw new ApiError("unprocessable", `rule.${field} ${message}`, { errors: [{ path: `rule.${field}`, message }] });
    }
  }
  const [updated] = await db
    .update(incentives)
    .set({
      ...(patch.name === undefined ? {} : { name: patch.name }),
      ...(patch.description === undefined ? {} : { description: patch.description }),
      ...(patch.active === undefined ? {} : { active: patch.active }),
      ...(rule === undefined ? {} : ruleColumns(rule)),
    })
    .where(eq(incentives.incentiveId, id))
    .returning();
  if (!updated) throw new ApiError("not_found", `no incentive ${incentiveId}`);
  const links = await db
    .selectDistinct({ employerId: employerIncentives.employerId })
    .from(employerIncentives)
    .where(and(eq(employerIncentives.incentiveId, id), isNull(employerIncentives.detachedAt)))
    .orderBy(asc(employerIncentives.employerId));
  return { incentive: toIncentiveJson(updated), employerIds: links.map((link) => String(link.employerId)) };
}

export async function listIncentives(d1: D1Database, filter: { active?: boolean; event?: string }): Promise<IncentiveJson[]> {
  const found = await database(d1)
    .select()
    .from(incentives)
    .where(
      and(
        filter.active === undefined ? undefined : eq(incentives.active, filter.active),
        filter.event === undefined ? undefined : eq(incentives.event, filter.event),
      ),
    )
    .orderBy(asc(incentives.incentiveId));
  return found.map(toIncentiveJson);
}

/**
 * Attaches a catalogue incentive to an employer's program with its reward. Attaching the same
 * incentive to the same program again returns the first link when the reward is the same, and is
 * 409 when it differs; an unknown or inactive incentive is 422.
 */
export async function linkIncentive(
  d1: D1Database,
  input: {
    employerId: string;
    programId: string;
    incentiveId: string;
    employerIncentiveId?: string;
    reward: { description: string };
    countFrom?: "history" | "attach";
    shareWithWebhooks?: boolean;
  },
): Promise<EmployerIncentiveJson & { event: string }> {
  const db = database(d1);
  const [incentive] = await db.select().from(incentives).where(eq(incentives.incentiveId, Number(input.incentiveId)));
  if (!incentive || !incentive.active) {
    const message = incentive ? `incentive ${input.incentiveId} is inactive` : `no incentive ${input.incentiveId}`;
    throw new ApiError("unprocessable", message, { errors: [{ path: "incentiveId", message }] });
  }
  const [inserted] = await db
    .insert(employerIncentives)
    .values({
      ...(input.employerIncentiveId === undefined ? {} : { employerIncentiveId: Number(input.employerIncentiveId) }),
      employerId: Number(input.employerId),
      programId: Number(input.programId),
      incentiveId: Number(input.incentiveId),
      rewardDescription: input.reward.description,
      shareWithWebhooks: input.shareWithWebhooks ?? false,
      createdAt: Date.now(),
      // The UTC day: a link is one moment for every user, whatever their offset.
      countFromDay: input.countFrom === "attach" ? utcDayNumber(Date.now()) : null,
    })
    .onConflictDoNothing()
    .returning();
  if (inserted) return { ...toEmployerIncentiveJson(inserted), event: incentive.event };
  const [existing] = await db
    .select()
    .from(employerIncentives)
    .where(
      and(
        eq(employerIncentives.employerId, Number(input.employerId)),
        eq(employerIncentives.programId, Number(input.programId)),
        eq(employerIncentives.incentiveId, Number(input.incentiveId)),
      ),
    );
  // Without a client-chosen id, any id of the existing link will do.
  const sameLink =
    existing !== undefined &&
    sameTerms(
      {
        reward: input.reward.description,
        employerIncentiveId: input.employerIncentiveId ?? String(existing.employerIncentiveId),
        shareWithWebhooks: input.shareWithWebhooks ?? false,
      },
      { reward: existing.rewardDescription, employerIncentiveId: String(existing.employerIncentiveId), shareWithWebhooks: existing.shareWithWebhooks },
    );
  if (sameLink) return { ...toEmployerIncentiveJson(existing), event: incentive.event };
  if (existing) {
    throw new ApiError(
      "conflict",
      `incentive ${input.incentiveId} is already attached to program ${input.programId} as employer incentive ${existing.employerIncentiveId} with a different reward or id`,
    );
  }
  throw new ApiError("idempotency_conflict", `employer incentive ${input.employerIncentiveId} already exists with different content`);
}

export async function listEmployerIncentives(
  d1: D1Database,
  employerId: string,
  programId?: string,
): Promise<Array<EmployerIncentiveJson & { incentive: IncentiveJson }>> {
  const found = await database(d1)
    .select()
    .from(employerIncentives)
    .innerJoin(incentives, eq(employerIncentives.incentiveId, incentives.incentiveId))
    .where(
      and(
        eq(employerIncentives.employerId, Number(employerId)),
        programId === undefined ? undefined : eq(employerIncentives.programId, Number(programId)),
      ),
    )
    .orderBy(asc(employerIncentives.programId), asc(employerIncentives.employerIncentiveId));
  return found.map((row) => ({
    ...toEmployerIncentiveJson(row.employer_incentives),
    incentive: toIncentiveJson(row.incentives),
  }));
}

/**
 * Detaches an employer incentive: from now on it earns nothing new; awards made stay. Detaching
 * again answers the link as first detached.
 */
export async function detachIncentive(
  d1: D1Database,
  link: { employerId: string; programId: string; employerIncentiveId: string },
  now = Date.now(),
): Promise<EmployerIncentiveJson> {
  const db = database(d1);
  const matches = and(
    eq(employerIncentives.employerIncentiveId, Number(link.employerIncentiveId)),
    eq(employerIncentives.employerId, Number(link.employerId)),
    eq(employerIncentives.programId, Number(link.programId)),
  );
  await db.update(employerIncentives).set({ detachedAt: now }).where(and(matches, isNull(employerIncentives.detachedAt)));
  const [row] = await db.select().from(employerIncentives).where(matches);
  if (!row) throw new ApiError("not_found", `no employer incentive ${link.employerIncentiveId} in program ${link.programId} of employer ${link.employerId}`);
  return toEmployerIncentiveJson(row);
}

/** `employerId␀event`, the key candidates are grouped by. */
export function candidateKey(employerId: string, event: string): string {
  return `${employerId}\u0000${event}`;
}

/**
 * The active incentives each employer attached (across its programs), grouped by employer and
 * event: what an event of that employer can earn.
 */
export async function loadCandidates(d1: D1Database, employerIds: readonly string[]): Promise<Map<string, AwardCandidate[]>> {
  const db = database(d1);
  const rows: { employer_incentives: EmployerIncentiveRow; incentives: IncentiveRow }[] = [];
  const distinct = [...new Set(employerIds)].map(Number);
  // One more parameter beside the ids: `active = true`.
  for (const part of d1Chunks(distinct, 1, 1)) {
    const found = await db
      .select()
      .from(employerIncentives)
      .innerJoin(incentives, eq(employerIncentives.incentiveId, incentives.incentiveId))
      .where(
        and(inArray(employerIncentives.employerId, part), eq(incentives.active, true), isNull(employerIncentives.detachedAt)),
      )
      .orderBy(asc(employerIncentives.employerIncentiveId));
    rows.push(...found);
  }
  const byKey = Map.groupBy(rows, ({ employer_incentives: link, incentives: incentive }) => candidateKey(String(link.employerId), incentive.event));
  return new Map([...byKey].map(([key, group]) => [key, group.map((row) => toCandidate(row.employer_incentives, row.incentives))]));
}
