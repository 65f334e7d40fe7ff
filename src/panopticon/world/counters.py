"""The daily counters every stage adds to: one int64 per (region, counter) per day.

Counts are of simulated citizens; results multiply them by the population's scale. Integer sums
make every total independent of chunking and threads. Each stage adds only to its own counters.
"""

from __future__ import annotations

from ..language.scenario import ActKind, ContentType

ACT_KINDS: tuple[str, ...] = ActKind.__args__  # type: ignore[attr-defined]
CONTENT_TYPES: tuple[str, ...] = ContentType.__args__  # type: ignore[attr-defined]
MAX_GRADES = 8

NAMES: tuple[str, ...] = (
    # population
    "citizens", "children", "internet_users", "payment_users",
    # behaviour: acts committed (ground truth), by kind
    *(f"acts_{k}" for k in ACT_KINDS),
    "posts_against_line", "posts_lawful", "debts_paid", "taxes_paid",
    *(f"posts_{t}" for t in CONTENT_TYPES), *(f"posts_against_line_{t}" for t in CONTENT_TYPES),
    # sensing: acts observed, and observations that are wrong
    *(f"observed_{k}" for k in ACT_KINDS),
    "camera_false_matches", "content_flags_true", "content_flags_false",
    *(f"content_flags_true_{t}" for t in CONTENT_TYPES),
    *(f"content_flags_false_{t}" for t in CONTENT_TYPES),
    # registry
    "defaults_recorded", "judgments", "new_listings", "new_listed_people", "listed_stock",
    "listed_shared_stock", "paid_after_listing", "delisted", "listing_expired", "stale_stock",
    "tax_cases", "exit_bans_new", "exit_ban_stock", "misconduct_listed", "misconduct_stock",
    # scoring
    "score_sum", "true_score_sum", "scored_citizens", "wrongly_graded", "bad_company_stock",
    "bad_company_points_lost",
    *(f"grade_{g}" for g in range(MAX_GRADES)),
    # consequences: sanctions
    "plane_attempts", "plane_blocked", "plane_blocked_wrongful", "plane_blocked_people",
    "train_attempts", "train_blocked", "train_blocked_wrongful", "train_blocked_people",
    "exit_attempts", "exit_blocked", "exit_blocked_wrongful", "job_applications", "jobs_blocked",
    "jobs_blocked_wrongful", "credit_applications", "credit_denied", "credit_denied_wrongful", "management_ban_stock", "internet_throttled_stock",
    "sanctioned_people_stock", "wrongly_sanctioned_stock",
    "wrongful_by_false_match", "wrongful_by_false_flag", "wrongful_by_stale_record",
    "wrongful_by_ties_term",
    "school_applications", "schools_blocked", "schools_blocked_wrongful",
    "children_affected_stock", "children_barred_people",
    # consequences: rewards
    "transport_discounts", "easy_credit", "better_jobs", "institution_access",
    # fear: perceived risk of being observed and sanctioned, in thousandths, summed over citizens
    "perceived_risk_permille_sum",
)
INDEX: dict[str, int] = {name: i for i, name in enumerate(NAMES)}
N_COUNTERS = len(NAMES)


def act_counter(prefix: str, kind: str) -> int:
    return INDEX[f"{prefix}_{kind}"]
