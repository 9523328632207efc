/**
 * The raw data contract (SPEC §1): the columns of `users.csv` and
 * `events.csv` and the event types. One definition for the generator, the
 * validation gates and prepare.
 *
 * @module
 */

/** Required columns of `users.csv`, in contract order. */
export const USERS_REQUIRED_COLUMNS = [
  "user_id",
  "signup_date",
  "plan",
  "is_paid",
  "country",
  "marketing_source",
] as const;

/** Columns of `users.csv` as the generator writes them: the required ones, then the optional engagement_score. */
export const USERS_COLUMNS: readonly string[] = [...USERS_REQUIRED_COLUMNS, "engagement_score"];

/** Columns of `events.csv`, in contract order (all required in the header). */
export const EVENTS_COLUMNS = [
  "event_id",
  "user_id",
  "event_time",
  "event_type",
  "course_id",
  "watch_minutes",
  "quiz_score",
  "amount",
] as const;

/** The event types (after lower-casing and trimming), in code order. */
export const EVENT_TYPES = [
  "login",
  "course_enroll",
  "video_watch",
  "quiz_attempt",
  "payment_success",
  "payment_failed",
  "support_ticket",
] as const;

/** One of {@link EVENT_TYPES}. */
export type EventType = typeof EVENT_TYPES[number];

/** The event types that must carry a positive amount. */
export const PAYMENT_EVENT_TYPES: readonly EventType[] = ["payment_success", "payment_failed"];
