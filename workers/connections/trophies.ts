import type { Trophy } from "../../durable-objects/user/trophies.ts";
import { userStub } from "../../durable-objects/user/stub.ts";
import type { DonationJson } from "./rewards.ts";

/**
 * Counts an applied donation in the donor's `User` object, which awards `first-donation` and
 * `generous` (500 points in all) once each and pushes them to the donor's open socket. Keyed by the
 * donation id, so a resent donation counts once.
 */
export async function countDonationTrophies(env: Env, donation: DonationJson): Promise<Trophy[]> {
  return userStub(env, donation.userId).countDonation(donation.userId, {
    donationId: donation.donationId,
    points: donation.points,
    donatedAt: Date.parse(donation.donatedAt),
  });
}
