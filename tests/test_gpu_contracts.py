"""GPU contracts (docs/cost-model.md#contract-gpu-prices): the settings and the rate card they re-price."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pipelines.core.errors import ModeshiftError
from pipelines.core.settings import GpuContractPrice, PricingSettings
from pipelines.lake.rate_card import gpu_contract_notes, load_rate_card, with_gpu_contracts

CARD = """model,effective_from,effective_to,input_usd_per_mtok,output_usd_per_mtok,batch_offered,batch_discount,gpu_type,gpus_per_replica,usd_per_gpu_hour,replica_capacity_tps,output_weight,target_utilization,source,as_of,provider
a,2020-01-01,,1.0,1.0,false,,H100,2,4.0,1000,1,0.8,card,2026-11-01,p
b,2020-01-01,,1.0,1.0,false,,A100,1,2.0,1000,1,0.8,card,2026-11-01,p
a,2020-01-01,,1.0,1.0,false,,H100,2,5.0,1000,1,0.8,card,2026-11-01,q
"""


def _card(tmp_path: Path):
    path = tmp_path / "card.csv"
    path.write_text(CARD)
    return load_rate_card(path)


def _pricing(**fields) -> PricingSettings:
    return PricingSettings(max_billed_deviation=0.5, min_billed_coverage=0.95, **fields)


def test_a_contract_reprices_its_gpu_type_and_one_naming_the_provider_wins(tmp_path: Path) -> None:
    everywhere = GpuContractPrice(gpu_type="H100", usd_per_gpu_hour=3.0, source="all-provider deal")
    at_q = GpuContractPrice(gpu_type="H100", provider="q", usd_per_gpu_hour=2.5, source="q order")
    card = with_gpu_contracts(_card(tmp_path), (at_q, everywhere))
    rows = {(r["provider"], r["model"]): r for r in card.iter_rows(named=True)}
    assert (rows["p", "a"]["usd_per_gpu_hour"], rows["p", "a"]["gpu_price_source"]) == (
        3.0,
        "all-provider deal",
    )
    assert (rows["q", "a"]["usd_per_gpu_hour"], rows["q", "a"]["gpu_price_source"]) == (2.5, "q order")
    assert rows["q", "a"]["list_usd_per_gpu_hour"] == 5.0
    assert (rows["p", "b"]["usd_per_gpu_hour"], rows["p", "b"]["gpu_price_source"]) == (2.0, None)
    notes = gpu_contract_notes(card, date(2026, 11, 2), "q")
    assert notes == {
        "a": "dedicated replicas at the contract GPU price: $2.50 per H100 GPU-hour (q order; the rate card's $5.00)"
    }
    assert gpu_contract_notes(with_gpu_contracts(_card(tmp_path), ()), date(2026, 11, 2), "p") == {}


def test_a_contract_for_a_gpu_type_the_card_does_not_have_is_an_error(tmp_path: Path) -> None:
    typo = GpuContractPrice(gpu_type="H100-80G", usd_per_gpu_hour=3.0, source="order")
    with pytest.raises(ModeshiftError, match="H100-80G.*no rate-card row") as raised:
        with_gpu_contracts(_card(tmp_path), (typo,))
    assert "A100, H100" in str(raised.value)
    elsewhere = GpuContractPrice(gpu_type="A100", provider="q", usd_per_gpu_hour=1.0, source="order")
    with pytest.raises(ModeshiftError, match="A100 at provider q"):
        with_gpu_contracts(_card(tmp_path), (elsewhere,))


def test_gpu_contracts_apply_under_auto_and_contract_only() -> None:
    contract = {"gpu_type": "H100", "usd_per_gpu_hour": 3.0, "source": "order"}
    for basis, applied in (("auto", 1), ("contract", 1), ("billed", 0), ("list", 0)):
        pricing = _pricing(basis=basis, gpu_contracts=[contract])
        assert len(pricing.gpu_contracts_in_use()) == applied, basis


def test_gpu_contract_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="more than one price for H100"):
        _pricing(gpu_contracts=[{"gpu_type": "H100", "usd_per_gpu_hour": 3.0, "source": "a"}] * 2)
    with pytest.raises(ValueError, match="greater than 0"):
        _pricing(gpu_contracts=[{"gpu_type": "H100", "usd_per_gpu_hour": 0, "source": "a"}])
    with pytest.raises(ValueError, match="source"):
        _pricing(gpu_contracts=[{"gpu_type": "H100", "usd_per_gpu_hour": 3.0}])
    with pytest.raises(ValueError, match="pricing.contracts or pricing.gpu_contracts"):
        _pricing(basis="contract")
    assert _pricing(basis="contract", gpu_contracts=[{"gpu_type": "H", "usd_per_gpu_hour": 1, "source": "s"}])
