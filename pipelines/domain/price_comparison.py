"""What the price basis changes in a recommendation: the decision made with serverless tokens at the week's basis
(list, billed or contract) beside the one list prices would have made (docs/cost-model.md#price-bases). Pure."""

from __future__ import annotations

import dataclasses

from pipelines.core.text import format_usd
from pipelines.domain.effective_price import LIST
from pipelines.domain.policy import Decision


def what_it_says(action: str, recommended_mode: str, current_mode: str) -> str:
    """A recommendation in plain words: 'migrate to hybrid', 'stay on serverless', 'hold on serverless'."""
    if action == "stay":
        return f"stay on {recommended_mode}"
    if action == "hold":
        return f"hold on {current_mode}"
    return f"{action} to {recommended_mode}"


def _what(decision: Decision) -> str:
    return what_it_says(decision.action, decision.recommended_mode, decision.current_mode)


def _saving(decision: Decision) -> str:
    return f", saving {format_usd(decision.savings_usd)}/week" if decision.savings_usd else ""


def with_price_basis(
    at_basis: Decision, basis: str, price_factor: float, note: str, at_list: Decision | None
) -> Decision:
    """``at_basis`` (decided with serverless tokens at ``basis``, whose week costs ``price_factor`` × list,
    unitless) with its basis columns, and, when ``at_list`` (the same week decided at list prices) is given, the
    list figures (``list_*``, USD per week) and a reason saying what list prices would have recommended.
    An unpriced decision keeps the list basis and no factor."""
    if at_basis.current_cost_usd is None:
        return dataclasses.replace(at_basis, price_basis=LIST, price_factor=None, price_note=None)
    reasons = list(at_basis.reasons)
    listed = at_list if at_list is not None else at_basis
    if basis != LIST and at_list is not None:
        reasons.append(f"Serverless tokens are costed at {note}.")
        same = (at_list.action, at_list.recommended_mode) == (at_basis.action, at_basis.recommended_mode)
        if not same:
            reasons.append(
                f"At list prices modeshift would say {_what(at_list)}{_saving(at_list)}; at {basis} prices it says "
                f"{_what(at_basis)}{_saving(at_basis)}: savings computed at list prices would mislead here."
            )
        elif (at_list.savings_usd or 0.0) != (at_basis.savings_usd or 0.0):
            reasons.append(
                f"The saving is {format_usd(at_basis.savings_usd or 0.0)}/week at {basis} prices, "
                f"{format_usd(at_list.savings_usd or 0.0)}/week at list."
            )
    return dataclasses.replace(
        at_basis,
        reasons=reasons,
        price_basis=basis,
        price_factor=price_factor,
        price_note=note,
        list_current_cost_usd=listed.current_cost_usd,
        list_recommended_cost_usd=listed.recommended_cost_usd,
        list_savings_usd=listed.savings_usd,
        list_recommended_mode=listed.recommended_mode,
        list_action=listed.action,
        list_raw_mode=listed.raw_mode,
        list_raw_family=listed.raw_family,
    )
