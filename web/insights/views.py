"""The insights page: MTTA, MTTR and open incidents over a chosen window."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import login_required

from shared.incidents import insights
from shared.incidents.models import ENVIRONMENTS
from web.db import get_session
from web.insights import charts
from web.reader import ZONE_COOKIE

bp = Blueprint("insights", __name__)


@bp.get("/insights")
@login_required
def index():
    days = insights.window_days(request.args.get("days"))
    zone, zone_problems = insights.reader_zone(request.args.get(insights.ZONE), request.cookies.get(ZONE_COOKIE))
    environments, environment_problems = insights.environments_given(request.args.get(insights.ENVIRONMENT))
    data = insights.compute(session=get_session(), days=days, zone=zone, environments=environments)
    return render_template(
        "insights/index.html",
        data=data,
        windows=insights.WINDOWS,
        priority_chart=charts.timing_bars(data.by_priority),
        component_chart=charts.timing_bars(data.by_component[: insights.CHARTED_COMPONENTS]),
        charted_components=insights.CHARTED_COMPONENTS,
        open_chart=charts.open_line(data.open_over_time),
        duration=charts.duration_text,
        environment_choices=ENVIRONMENTS,
        query_problems=insights.window_problems(request.args) + environment_problems + zone_problems,
    )
