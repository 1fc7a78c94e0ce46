import json
import re
from io import StringIO

from django.core.management import call_command

from analytics.management.commands.eval_gap_clustering import DEFAULT_DATA


def test_the_labelled_set_has_at_least_200_korean_questions_in_20_groups():
    groups = json.loads(DEFAULT_DATA.read_text(encoding="utf-8"))["groups"]

    assert len(groups) >= 20
    assert sum(len(group["questions"]) for group in groups) >= 200
    assert len({q for group in groups for q in group["questions"]}) == sum(len(g["questions"]) for g in groups)


def test_the_evaluation_prints_ari_nmi_and_groups_recovered():
    out = StringIO()

    call_command("eval_gap_clustering", stdout=out)

    numbers = dict(re.findall(r"(ARI|NMI) ([0-9.]+)", out.getvalue()))
    assert float(numbers["ARI"]) > 0.5  # far above chance (0); the README has the measured values
    assert float(numbers["NMI"]) > 0.8
    assert "groups recovered" in out.getvalue()
