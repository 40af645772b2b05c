"""The report page's data and HTML on small hand-made inputs (no Spark but the risk summary)."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime

import pandas as pd
import plotly.graph_objects as go
import pytest
from pyspark.sql import functions as F

from sparkify_kedro.pipelines.reporting.page import assemble_report_page_data
from sparkify_kedro.pipelines.reporting.render import (
    render_report_page,
    template_environment,
)
from sparkify_kedro.pipelines.reporting.tables import summarise_risk

HOSTILE_USER = '<script>alert("user")</script>'
HOSTILE_PAGE = "<img src=x onerror=alert(1)>"
LR = "LogisticRegression(regParam=0.1)/all"
GBT = "GBTClassifier(maxDepth=2)/all"
RULE, BASE_RATE = "baseline/one_rule", "baseline/always_no_churn"
ORIGINS = ["2018-10-29T00:00:00", "2018-11-05T00:00:00", "2018-11-12T00:00:00"]
REASON = (
    f"{GBT} has the best AUC-PR on the out-of-time scores of 3 origins pooled (0.560), "
    f"but {LR} (0.520) is as good given the noise and simpler."
)
BEST_MODEL_INFO = {
    "name": LR,
    "kind": "classifier",
    "algorithm": "LogisticRegression",
    "feature_set": "all",
    "feature_columns": {"numeric": ["songs", "thumbs_down"], "categorical": ["level"]},
    "threshold": 0.31,
    "chosen_by": {
        "metric": "auc_pr",
        "on": "rolling-origin validation scores, every origin pooled",
        "value": 0.52,
        "best_on_validation": GBT,
        "best_value": 0.56,
        "tied_with_best": [RULE, LR, GBT],
        "candidates_compared": [BASE_RATE, RULE, LR, GBT],
        "reason": REASON,
    },
    "churn_task": {
        "mode": "snapshot",
        "churn_definition": "paid_to_free_or_cancel",
        "churn_definitions": {
            "paid_to_free_or_cancel": ["Submit Downgrade", "Cancellation Confirmation"]
        },
        "observation_days": 14,
        "horizon_days": 14,
        "stride_days": 7,
    },
}
#: model_metrics as modeling writes it: the procedure and the baselines on the test
#: rows, then every candidate's validation figures (GBT/engagement halved away after
#: two origins). Every metric is its AUC-PR; intervals AUC-PR -/+ 0.1.
MODELS = [
    # model, feature_set, algorithm, figure, chosen, rank, origins, auc_pr
    ("procedure", "procedure", "rolling_origin_choice", "test", False, None, 2, 0.5),
    (BASE_RATE, "baseline", "always_no_churn", "test", False, None, 2, 0.15),
    (RULE, "baseline", "one_rule", "test", False, None, 2, 0.42),
    (GBT, "all", "GBTClassifier", "validation", False, 1, 3, 0.56),
    (LR, "all", "LogisticRegression", "validation", True, 2, 3, 0.52),
    (RULE, "baseline", "one_rule", "validation", False, 3, 3, 0.45),
    (BASE_RATE, "baseline", "always_no_churn", "validation", False, 4, 3, 0.14),
    (
        "GBTClassifier(maxDepth=2)/engagement",
        *("engagement", "GBTClassifier", "validation", False, 5, 2, 0.6),
    ),
]
MODEL_METRICS = pd.DataFrame(
    [
        {
            "model": model,
            "feature_set": feature_set,
            "algorithm": algorithm,
            "figure": figure,
            "chosen": chosen,
            "validation_rank": math.nan if rank is None else float(rank),
            "origins_scored": origins,
            **{
                f"{metric}{suffix}": auc_pr + shift
                for metric in ("auc_pr", "auc_roc", "precision", "recall", "f1")
                + ("lift_top_decile",)
                for suffix, shift in [("", 0.0), ("_low", -0.1), ("_high", 0.1)]
            },
            "n_rows": 200 if figure == "test" else 300,
            "churners": 20 if figure == "test" else 30,
            "threshold": math.nan if figure == "test" else 0.3,
        }
        for model, feature_set, algorithm, figure, chosen, rank, origins, auc_pr in MODELS
    ]
)
PICKS = {ORIGINS[1]: GBT, ORIGINS[2]: LR}
MODEL_COMPARISON = {
    "confidence": 0.95,
    "bootstrap_resamples": 100,
    "first_origin_note": "validation only: no earlier origin to choose from",
    "procedure_picks": PICKS,
    "paired_differences": [
        {
            "comparison": f"procedure - {BASE_RATE}",
            "figure": "test",
            "other": BASE_RATE,
            "mean_difference": 0.35,
            "low": 0.25,
            "high": 0.45,
        },
        {
            "comparison": f"procedure - {RULE}",
            "figure": "test",
            "other": RULE,
            "mean_difference": 0.08,
            "low": 0.01,
            "high": 0.15,
        },
        {
            "comparison": f"{LR} - {GBT}",
            "figure": "validation",
            "other": GBT,
            "mean_difference": -0.04,
            "low": -0.1,
            "high": 0.02,
        },
    ],
    "procedure_beats_baselines": True,
    "procedure_beats_rule": True,
}
SPLIT = {
    "origins": [
        {
            "cutoff": cutoff,
            "n_train": 100 * index,
            "train_churners": 10 * index,
            "n_rows": 100,
            "churners": 10,
        }
        for index, cutoff in enumerate(ORIGINS, start=1)
    ],
    "origin_cutoffs": ORIGINS,
    "test_cutoffs": ORIGINS[1:],
}
LOG_SPAN = {"log_start": "2018-10-01T00:00:00", "log_end": "2018-12-03T00:00:00"}
DATA_QUALITY = {
    "lines_read": 1000,
    "rows_kept": 990,
    "unknown_pages": {HOSTILE_PAGE: 3},
}
HOSTILE_REASON = "</script><script>alert('reason')</script>"
#: Three scored users as summarise_risk lists them (a paid one first).
SCORED_USERS = [
    {
        "user_id": HOSTILE_USER,
        "rank": 1,
        "churn_probability": 0.9,
        "risk_tier": "high",
        "level": "paid",
        "monthly_value": 9.0,
        "expected_monthly_loss": 8.1,
        "reasons": ["thumbs down per song: 0.12, typical 0.03", HOSTILE_REASON],
    },
    {
        "user_id": "42",
        "rank": 2,
        "churn_probability": 0.2,
        "risk_tier": "low",
        "level": "free",
        "monthly_value": 1.5,
        "expected_monthly_loss": 0.3,
        "reasons": [],
    },
    {
        "user_id": "7",
        "rank": 3,
        "churn_probability": 0.1,
        "risk_tier": "low",
        "level": "free",
        "monthly_value": None,
        "expected_monthly_loss": None,
        "reasons": ["songs per day: 2.00, typical 30.00"],
    },
]
RISK = {
    "users": 3,
    "scored_at": "2018-12-03T00:00:00",
    "tiers": [
        {
            "risk_tier": "high",
            "users": 1,
            "first_rank": 1,
            "last_rank": 1,
            "min_probability": 0.9,
            "max_probability": 0.9,
            "mean_probability": 0.9,
            "monthly_value": 9.0,
            "expected_monthly_loss": 8.1,
        },
        {
            "risk_tier": "low",
            "users": 2,
            "first_rank": 2,
            "last_rank": 3,
            "min_probability": 0.1,
            "max_probability": 0.2,
            "mean_probability": 0.15,
            "monthly_value": 1.5,
            "expected_monthly_loss": 0.3,
        },
    ],
    "totals": {
        "users": 3,
        "mean_probability": 0.4,
        "monthly_value": 10.5,
        "expected_monthly_loss": 8.4,
    },
    "revenue": {
        "currency": "USD",
        "monthly_price_paid": 9.99,
        "revenue_per_advert": 0.02,
    },
    "scored_users": SCORED_USERS,
    "top_users": [
        {
            "rank": 1,
            "user_id": HOSTILE_USER,
            "churn_probability": 0.9,
            "risk_tier": "high",
        }
    ],
}
#: probability_calibration as modeling writes it (contract of issue #34).
CALIBRATION = {
    "method": "platt",
    "slope": 0.8,
    "intercept": -1.2,
    "input": "logit",
    "fitted_on": {"rows": 300, "origins": 3, "churners": 40},
    "test": {
        "expected_calibration_error": 0.021,
        "reliability": [
            {"bin": 0, "n": 150, "mean_predicted": 0.05, "observed_rate": 0.04},
            {"bin": 1, "n": 50, "mean_predicted": 0.4, "observed_rate": 0.44},
        ],
    },
}
CEILING_SUMMARY = {
    "label_draws": 50,
    "test_rows": 200,
    "ceiling_expected_auc_pr": 0.8,
    "procedure_expected_auc_pr": 0.4,
    "procedure_ratio_to_ceiling": 0.5,
    "rule_expected_auc_pr": 0.36,
    "rule_ratio_to_ceiling": 0.45,
    "procedure_minus_rule_expected_auc_pr": 0.04,
    "procedure_minus_rule_expected_auc_pr_se": 0.01,
    "validation_rows": 300,
    "validation_ceiling_expected_auc_pr": 0.75,
    "deployed_model": LR,
    "deployed_validation_expected_auc_pr": 0.45,
    "deployed_validation_ratio_to_ceiling": 0.6,
}


def _page(
    ceiling_summary=None,
    best_model_info=BEST_MODEL_INFO,
    model_comparison=None,
    calibration=CALIBRATION,
) -> dict:
    return assemble_report_page_data(
        best_model_info,
        MODEL_METRICS,
        model_comparison or MODEL_COMPARISON,
        SPLIT,
        LOG_SPAN,
        DATA_QUALITY,
        RISK,
        calibration,
        ceiling_summary,
    )


def _text(html: str) -> str:
    """The page's words: tags and scripts removed, white space collapsed."""
    body = re.sub(r"<script\b.*?</script>", " ", html, flags=re.DOTALL)
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def test_the_procedures_test_figure_comes_first_beside_the_baselines():
    page = _page()
    assert [(row["model"], row["name"]) for row in page["test"]] == [
        ("procedure", "the choosing procedure"),
        (BASE_RATE, "the base rate"),
        (RULE, "the one-line rule"),
    ]
    procedure = page["test"][0]
    assert (procedure["auc_pr"], procedure["n_rows"], procedure["churners"]) == (
        0.5,
        200,
        20,
    )
    assert procedure["auc_pr_low"] == pytest.approx(0.4)
    # the validation comparison (deployed - best) is not a test figure
    assert page["paired_on_test"] == [
        {
            "name": "the base rate",
            "mean_difference": 0.35,
            "low": 0.25,
            "high": 0.45,
            "beats": True,
        },
        {
            "name": "the one-line rule",
            "mean_difference": 0.08,
            "low": 0.01,
            "high": 0.15,
            "beats": True,
        },
    ]
    assert page["procedure_beats_rule"] is True
    assert page["procedure_single_pick"] is None  # GBT, then LR

    text = _text(render_report_page(page))
    glance = text.split("At a glance", 1)[1]
    assert glance.startswith(
        " Test AUC-PR of the choosing procedure: 0.500 (95 % interval 0.400 to 0.600)"
    )
    assert (
        "On the same rows: the base rate 0.150 [0.050, 0.250], the one-line rule "
        "0.420 [0.320, 0.520]."
    ) in glance
    assert "It beats the one-line rule" in glance
    assert "the one-line rule +0.080 [+0.010, +0.150], better." in glance
    assert glance.index("choosing procedure") < glance.index("Deployed for scoring")


def test_a_procedure_within_the_noise_of_the_rule_does_not_beat_it():
    base_rate, _, validation = MODEL_COMPARISON["paired_differences"]
    rule = {"figure": "test", "other": RULE, "mean_difference": 0.0}
    comparison = {
        **MODEL_COMPARISON,
        "procedure_picks": {ORIGINS[1]: RULE, ORIGINS[2]: RULE},
        "paired_differences": [
            base_rate,
            {**rule, "low": 0.0, "high": 0.0},
            validation,
        ],
        "procedure_beats_rule": False,
    }
    page = _page(model_comparison=comparison)
    assert page["procedure_single_pick"] == RULE
    assert [entry["beats"] for entry in page["paired_on_test"]] == [True, False]
    text = _text(render_report_page(page))
    assert "It does not beat the one-line rule" in text
    assert "It beats the one-line rule" not in text
    assert f"It picked {RULE} at every test cutoff." in text
    assert (
        "the one-line rule +0.000 [+0.000, +0.000], not better given the noise."
    ) in text


def test_the_deployed_classifier_is_named_with_the_reason_it_was_chosen():
    page = _page()
    assert page["deployed"]["best_on_validation"] == GBT
    assert page["deployed"]["candidates_compared"] == 4
    text = _text(render_report_page(page))
    assert (
        f"Deployed for scoring: {LR} , a LogisticRegression classifier on the all "
        f"features, refitted on every labelled row. Why: {REASON}"
    ) in text
    assert "not a trained classifier" not in text


@pytest.mark.parametrize(
    ("kind", "algorithm", "numeric", "expected"),
    [
        (
            "rule",
            "one_rule",
            ["thumbs_down_per_song"],
            "not a trained classifier but the one-line rule : it ranks users by "
            "thumbs_down_per_song alone",
        ),
        (
            "base_rate",
            "always_no_churn",
            [],
            "not a trained classifier but the base rate : every user gets the same "
            "churn probability",
        ),
    ],
)
def test_a_deployed_rule_or_base_rate_is_said_to_be_one(
    kind, algorithm, numeric, expected
):
    info = {
        **BEST_MODEL_INFO,
        "name": f"baseline/{algorithm}",
        "kind": kind,
        "algorithm": algorithm,
        "feature_set": "baseline",
        "feature_columns": {"numeric": numeric, "categorical": []},
        "threshold": None,
    }
    text = _text(render_report_page(_page(best_model_info=info)))
    assert f"Deployed for scoring: baseline/{algorithm} , {expected}" in text
    assert "Decision threshold (best F1 on its validation scores): none" in text


def test_every_candidates_validation_figure_is_listed_and_labelled_as_such():
    page = _page()
    assert [
        (row["validation_rank"], row["model"], row["role"], row["origins_scored"])
        for row in page["validation"]
    ] == [
        (1, GBT, "candidate", 3),
        (2, LR, "deployed", 3),
        (3, RULE, "baseline", 3),
        (4, BASE_RATE, "baseline", 3),
        (5, "GBTClassifier(maxDepth=2)/engagement", "candidate", 2),
    ]
    assert page["validation"][0]["auc_pr_high"] == pytest.approx(0.66)
    html = render_report_page(page)
    table = html.split('id="validation-metrics"', 1)[1].split("</table>", 1)[0]
    assert "<th>validation auc_pr</th>" in table
    assert len(re.findall(r"<tr[ >]", table)) == 1 + 5  # the header, every candidate
    assert '<tr class="chosen">' in table  # the deployed candidate


def test_the_origins_show_the_procedures_pick_at_each_test_cutoff():
    page = _page()
    assert [(o["cutoff"], o["test"], o["picked"]) for o in page["origins"]] == [
        (ORIGINS[0], False, None),
        (ORIGINS[1], True, GBT),
        (ORIGINS[2], True, LR),
    ]
    table = _text(render_report_page(page).split('id="origins"', 1)[1])
    assert (
        f"{ORIGINS[0]} validation only: no earlier origin to choose from "
        "100 rows, 10 churners 100 10 none"
    ) in table
    assert f"{ORIGINS[2]} test 300 rows, 30 churners 100 10 {LR}" in table


def test_without_a_ceiling_the_page_says_none_was_measured():
    page = _page()
    assert page["ceiling"] is None
    html = render_report_page(page)
    assert "No ceiling in this run" in html
    assert "of the ceiling" not in html


def test_with_a_ceiling_the_page_gives_the_procedures_ratio_to_it():
    page = _page(CEILING_SUMMARY)
    assert page["ceiling"]["procedure_ratio"] == 0.5
    text = _text(render_report_page(page))
    assert "No ceiling" not in text
    assert "the procedure's expected test AUC-PR is 50 % of the ceiling" in text
    assert "(the one-line rule's: 45 %)" in text
    assert "procedure minus rule: +0.040 (standard error 0.010)" in text
    assert f"the deployed {LR} expects 0.450 (60 % of the ceiling)" in text


def test_a_ceiling_summary_without_some_figures_still_renders():
    page = _page({"ceiling_expected_auc_pr": 0.8})
    assert page["ceiling"]["procedure_ratio"] is None
    text = _text(render_report_page(page))
    assert "expected test AUC-PR of 0.800" in text
    assert "is n/a of the ceiling" in text


def test_user_ids_and_page_names_are_escaped():
    html = render_report_page(_page())
    for hostile in (HOSTILE_USER, HOSTILE_PAGE):
        assert hostile not in html
    assert "&lt;script&gt;alert(&#34;user&#34;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt; (3)" in html


def test_plotly_js_is_inlined_once_and_nothing_is_fetched():
    figure = go.Figure(go.Bar(x=["<b>a</b>"], y=[1]))
    html = render_report_page(
        _page(), model_comparison=figure, roc_pr_curves=figure, unknown=figure
    )
    assert html.count("window.PlotlyConfig") == 1  # plotly.js, before the first figure
    assert html.index("window.PlotlyConfig") < html.index(
        'id="figure-model_comparison"'
    )
    assert 'id="figure-roc_pr_curves"' in html
    assert "figure-unknown" not in html  # only the page's figures are drawn
    # no script, style sheet or frame loaded from elsewhere (the browser test blocks the
    # network and finds no error either)
    assert not re.search(r"<(script|link|iframe)\b[^>]*\b(src|href)=", html)


def test_the_page_gives_the_revenue_at_risk_by_tier_on_labelled_assumptions():
    text = _text(render_report_page(_page()))
    assert (
        "Expected monthly revenue at risk: 8.40 USD of 10.50 USD a month from the "
        "scored users (high 8.10, low 0.30;"
    ) in text
    tiers = text.split("Risk tiers and revenue at risk", 1)[1]
    assert "high 1 33 % 1 to 1 0.900 to 0.900 0.900 9.00 8.10" in tiers
    assert "every tier 3 100 % 0.400 10.50 8.40" in tiers
    assert (
        "assumed: paid plan 9.99 USD a month, 0.02 USD per advert heard; set in "
        "conf/base/parameters_scoring.yml"
    ) in tiers


def test_the_calibration_is_shown_against_the_labels_without_a_ceiling():
    page = _page()
    assert page["calibration"] == {
        "method": "platt",
        "input": "logit",
        "fitted_on": {"rows": 300, "origins": 3, "churners": 40},
        "ece_vs_labels": 0.021,
        "ece_vs_simulator": None,
        "deployed_ece_vs_simulator": None,
        "perfect_ranking_ece_vs_simulator": None,
        "reliability_vs_simulator": False,
        "reliability": [
            {
                "bin": 0,
                "n": 150,
                "mean_predicted": 0.05,
                "observed_rate": 0.04,
                "simulator_probability": None,
            },
            {
                "bin": 1,
                "n": 50,
                "mean_predicted": 0.4,
                "observed_rate": 0.44,
                "simulator_probability": None,
            },
        ],
    }
    html = render_report_page(page)
    text = _text(html.split('id="calibration"', 1)[1].split("<h3", 1)[0])
    assert (
        "a platt calibration step (input: logit), so that among users given 0.2 about "
        "one in five churns; fitted on rows: 300, origins: 3, churners: 40."
    ) in text
    assert "0.021 against the observed churn of the test rows" in text
    assert "against the simulator's own probabilities: not measured" in text
    assert "bin users mean predicted observed churn rate 0 150 0.050 0.040" in text
    assert "simulator's mean probability" not in text
    assert "they are not calibrated rates" not in _text(html)


def test_the_calibration_is_shown_against_the_simulator_with_a_ceiling():
    ceiling = {
        **CEILING_SUMMARY,
        "calibration_error_vs_simulator": 0.012,
        "deployed_calibration_error_vs_simulator": 0.009,
        "perfect_ranking_calibration_error_vs_simulator": 0.007,
        "calibration_reliability_vs_simulator": [
            {
                "bin": 0,
                "n": 120,
                "mean_predicted": 0.06,
                "simulator_probability": 0.055,
                "observed_rate": 0.05,
            }
        ],
    }
    page = _page(ceiling)
    assert page["calibration"]["ece_vs_simulator"] == 0.012
    assert page["calibration"]["reliability"] == [
        {
            "bin": 0,
            "n": 120,
            "mean_predicted": 0.06,
            "observed_rate": 0.05,
            "simulator_probability": 0.055,
        }
    ]
    text = _text(render_report_page(page))
    assert "expected calibration error 0.012 against the simulator's own" in text
    assert "0.012 against the simulator's own churn probabilities" in text
    assert "0.009 with the deployed map" in text
    assert "keeps 0.007: what one draw of labels alone costs" in text
    assert "simulator's mean probability 0 120 0.060 0.050 0.055" in text


def test_a_run_without_a_calibration_says_so():
    page = _page(calibration=None)
    assert page["calibration"] is None
    text = _text(render_report_page(page))
    assert "No calibration recorded in this run" in text
    assert "they are not calibrated rates" in text
    # a ceiling without the calibration figures still renders (n/a)
    text = _text(render_report_page(_page(CEILING_SUMMARY, calibration=None)))
    assert "No calibration step recorded for the deployed model." in text


def _embedded_users(html: str, table_id: str = "scored-users") -> list[dict]:
    """The users a users table embeds (its JSON script, column by column), as dicts."""
    data = html.split(f'id="{table_id}-data">', 1)[1].split("</script>", 1)[0]
    columns = json.loads(data)  # one list per column, users in rank order
    return [
        dict(zip(columns, values, strict=True))
        for values in zip(*columns.values(), strict=True)
    ]


def test_every_scored_user_is_embedded_once_for_the_searchable_table():
    html = render_report_page(_page())
    assert _embedded_users(html) == SCORED_USERS
    assert html.count('id="scored-users-data"') == 1
    for part in ("search", "count", "detail", "table"):
        assert f'id="scored-users-{part}"' in html
    assert '<th data-key="expected_monthly_loss" data-type="number">' in html
    assert "expected monthly loss (USD)" in html
    # the hostile strings stay inside the JSON: nothing ends the script early
    assert HOSTILE_REASON not in html
    assert "\\u003c/script\\u003e" in html
    assert 'id="top-risk-users"' in html  # the top users stay, above every user


def test_the_users_table_macro_renders_alone_for_another_page():
    """The inference page imports the macro: it needs nothing of the report page."""
    template = template_environment().from_string(
        '{% from "users_table.html.j2" import users_table %}'
        '{{ users_table(users, "EUR", table_id="new-log-users") }}'
    )
    html = template.render(users=SCORED_USERS[1:])
    assert _embedded_users(html, "new-log-users") == SCORED_USERS[1:]
    assert 'id="new-log-users-search"' in html
    assert "monthly value (EUR)" in html
    assert "scored-users" not in html
    assert not re.search(r"<(script|link|iframe)\b[^>]*\b(src|href)=", html)


def test_the_risk_summary_gives_each_tiers_revenue_at_risk_and_every_user(spark):
    rows = [
        # user_id, probability, rank, tier, level, value, loss, reasons 1..3
        ("u3", 0.5, 3, "medium", "free", 2.0, 1.0, "", "", ""),
        ("u1", 0.9, 1, "high", "paid", 9.0, 8.1, "r1", "r2", "r3"),
        ("u5", 0.1, 5, "low", "free", 3.0, 0.3, "r5", "", ""),
        ("u2", 0.6, 2, "medium", "paid", 9.0, 5.4, "r1", "", ""),
        ("u4", 0.2, 4, "low", "free", 1.0, 0.2, None, None, None),
    ]
    scores = spark.createDataFrame(
        rows,
        "user_id string, churn_probability double, rank int, risk_tier string, "
        "level string, monthly_value double, expected_monthly_loss double, "
        "reason_1 string, reason_2 string, reason_3 string",
    ).withColumn("scored_at", F.lit(datetime(2018, 12, 3)))
    revenue = {
        "currency": "USD",
        "monthly_price_paid": 9.99,
        "revenue_per_advert": 0.02,
    }
    summary = summarise_risk(scores, top_users=3, revenue=revenue)

    assert summary["users"] == 5
    assert summary["scored_at"] == "2018-12-03T00:00:00"
    assert summary["revenue"] == revenue
    tiers = {tier["risk_tier"]: tier for tier in summary["tiers"]}
    assert [tier["risk_tier"] for tier in summary["tiers"]] == ["high", "medium", "low"]
    # by hand: medium = u2 + u3, low = u4 + u5
    assert (tiers["medium"]["users"], tiers["medium"]["last_rank"]) == (2, 3)
    assert tiers["medium"]["mean_probability"] == pytest.approx(0.55)
    assert tiers["medium"]["monthly_value"] == pytest.approx(11.0)
    assert tiers["medium"]["expected_monthly_loss"] == pytest.approx(6.4)
    assert tiers["low"]["min_probability"] == pytest.approx(0.1)
    assert tiers["low"]["mean_probability"] == pytest.approx(0.15)
    assert tiers["low"]["expected_monthly_loss"] == pytest.approx(0.5)
    totals = summary["totals"]
    assert totals["users"] == 5
    assert totals["mean_probability"] == pytest.approx(2.3 / 5)
    assert totals["monthly_value"] == pytest.approx(24.0)
    assert totals["expected_monthly_loss"] == pytest.approx(15.0)

    users = summary["scored_users"]
    assert [user["user_id"] for user in users] == ["u1", "u2", "u3", "u4", "u5"]
    assert users[0] == {
        "user_id": "u1",
        "rank": 1,
        "churn_probability": 0.9,
        "risk_tier": "high",
        "level": "paid",
        "monthly_value": 9.0,
        "expected_monthly_loss": 8.1,
        "reasons": ["r1", "r2", "r3"],
    }
    assert [user["reasons"] for user in users[1:]] == [["r1"], [], [], ["r5"]]
    assert summary["top_users"] == [
        {
            key: user[key]
            for key in ("rank", "user_id", "churn_probability", "risk_tier")
        }
        for user in users[:3]
    ]
