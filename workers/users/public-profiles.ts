/**
 * Public profiles (`GET /users/{id}/profile`, `GET /officers/{id}`): the display name and precinct
 * from D1 `user_profiles`, the connection count and trophies from the user's object. Nothing else:
 * no points, no locations.
 */
import { eq } from "drizzle-orm";
import { z } from "zod";
import { TROPHY_IDS, type Trophy } from "../../durable-objects/user/trophies.ts";
import { userStub } from "../../durable-objects/user/stub.ts";
import { database, schema } from "../../shared/db/client.ts";
import { idJsonSchema } from "../../shared/ids.ts";

export const trophySchema = z
  .object({
    trophyId: z.enum(TROPHY_IDS),
    name: z.string().meta({ example: "First connection" }),
    earnedAt: z.iso.date().meta({
      description: "The UTC day it was earned (YYYY-MM-DD): public profiles never show the time, which would tie the two parties of a connection together",
      example: "2026-11-22",
    }),
  })
  .meta({ id: "Trophy" });

export const publicProfileSchema = z
  .object({
    userId: idJsonSchema,
    displayName: z.string().nullable().meta({ description: "null until the user or an import sets one" }),
    connections: z.number().int().meta({ description: "Established officer–citizen connections" }),
    trophies: z.array(trophySchema).meta({ description: "Oldest first" }),
  })
  .meta({ id: "PublicProfile" });

export const officerProfileSchema = z
  .object({
    officerId: idJsonSchema,
    displayName: z.string().nullable(),
    precinct: z.string().nullable().meta({ description: "From the officers import; null when unknown" }),
    connections: z.number().int(),
    trophies: z.array(trophySchema),
  })
  .meta({ id: "OfficerProfile" });

export interface PublicProfile {
  userId: string;
  displayName: string | null;
  precinct: string | null;
  connections: number;
  trophies: Trophy[];
}

/**
 * A trophy as the public sees it: earned on a UTC day. The exact time of a trophy earned by a
 * connection is the connection's, the same to the millisecond on both parties' profiles, so it
 * would tell anyone who met whom; the owner's own socket message keeps the full time.
 */
export function publicTrophy(trophy: Trophy): Trophy {
  return { ...trophy, earnedAt: trophy.earnedAt.slice(0, 10) };
}

/**
 * A user's public profile. An id nobody used answers like a user with nothing yet (no name, 0
 * connections, no trophies): users exist implicitly by their tokens, so "unknown" cannot be told
 * apart from "new", and a 404 would only tell a caller which ids are in use.
 */
export async function publicProfileOf(env: Env, userId: string): Promise<PublicProfile> {
  const [[row], trophyCase] = await Promise.all([
    database(env.DB)
      .select({ displayName: schema.displayNames.displayName, precinct: schema.displayNames.precinct })
      .from(schema.displayNames)
      .where(eq(schema.displayNames.userId, Number(userId))),
    userStub(env, userId).trophyCase(),
  ]);
  return {
    userId,
    displayName: row?.displayName ?? null,
    precinct: row?.precinct ?? null,
    connections: trophyCase.connections,
    trophies: trophyCase.trophies.map(publicTrophy),
  };
}
