"""What each column of the plan-progress exports holds (written into their metadata, read by the page)."""

from __future__ import annotations

#: The per-area table's columns.
AREA_COLUMN_DOCS: dict[str, str] = {
    "area_code": "2022 ward code (E05…) or borough code (E09…)",
    "area_name": "ward or borough name",
    "borough_name": "borough the area lies in",
    "group": "cohort (flagged at launch), same_crime_other_trust (met the crime half of the rule at launch, "
             "not the trust half) or lower_crime (did not meet the crime half); the last two make up all_other",
    "population": "Census 2021 usual residents",
    "baseline_count": "crimes in the baseline window",
    "baseline_value": "the chosen measure in the baseline window",
    "latest_count": "crimes in the latest window (as many months as the baseline)",
    "latest_value": "the chosen measure in the latest window",
    "change": "latest ÷ baseline (0.9 = 10% lower), of crimes or of harm",
    "change_lo": "lower end of the exact 95% interval of change (crimes only)",
    "change_hi": "upper end of the exact 95% interval of change (crimes only)",
    "trust_baseline": "share agreeing in the baseline survey year (0-1); at ward level the borough's figure",
    "trust_latest": "share agreeing in the latest survey year (0-1)",
    "trust_change": "trust_latest - trust_baseline, in percentage points",
    "trust_change_lo": "lower end of Newcombe's 95% interval of trust_change (interviews ÷ design effect), points",
    "trust_change_hi": "upper end of Newcombe's 95% interval of trust_change, percentage points",
    "flagged_now": "true when the same rule flags the area over the latest window with the latest survey year",
}

#: The summary's columns: one row per group, per comparison, and the selection_alone and placebo rows.
SUMMARY_COLUMN_DOCS: dict[str, str] = {
    "group": "cohort, all_other, same_crime_other_trust, lower_crime, london; a comparison (first_vs_second); "
             "selection_alone; placebo",
    "label": "the row in words",
    "areas": "areas in the group with data in both windows (a comparison: both groups'; placebo: its cohort's)",
    "clusters": "boroughs the interval is clustered on (ward level; at borough level the boroughs themselves); "
                "a comparison: the smaller group's, whose clusters − 1 are the t quantile's degrees of freedom",
    "baseline_count": "the group's crimes in the baseline window",
    "baseline_value": "the chosen measure for the group's total in the baseline window",
    "latest_count": "the group's crimes in the latest window",
    "latest_value": "the chosen measure for the group's total in the latest window",
    "change": "latest ÷ baseline for a group; a comparison: the first group's change ÷ the second's; "
              "selection_alone: the cohort_vs_all_other ratio expected with no real change anywhere; "
              "placebo: the placebo cohort's change ÷ its all_other's over the window after its launch",
    "change_lo": "lower end of the 95% interval (cluster-robust by borough, t quantiles); selection_alone: of "
                 "the range chance and selection alone produce",
    "change_hi": "upper end of the 95% interval or range",
    "dispersion": "how much more unevenly the group's areas changed than chance alone (1 = Poisson); descriptive",
    "trust_baseline": "population-weighted mean of the areas' trust in the baseline survey year (0-1)",
    "trust_latest": "the same in the latest survey year (0-1)",
    "trust_change": "change in percentage points; a comparison: the difference of the two changes",
    "trust_change_lo": "lower end of its 95% interval (interviews divided by the design effect), points",
    "trust_change_hi": "upper end of its 95% interval, points",
    "pretrend_per_year": "a comparison: the first group's crime trend ÷ the second's, per year, over the months "
                         "before the baseline (1 = moving alike)",
    "pretrend_lo": "lower end of its 95% t interval",
    "pretrend_hi": "upper end of its 95% t interval",
    "pretrend_p": "p-value of 'no difference in trend'",
    "pretrend_drift_lo": "the pre-baseline trend interval carried over the follow-up (middle of baseline to "
                         "middle of latest window): lower end, as a ratio",
    "pretrend_drift_hi": "its upper end: a drift anywhere between the two cannot be ruled out",
}
