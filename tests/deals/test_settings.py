"""The deals' settings: the contract's examples load unchanged; a wrong trigger is one line naming it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.config import load_settings
from gateway.config.pipelines import TriggerWhen
from gateway.core.automation import DealFacts, WorkingHours, loop_of, next_in_turn, unmet_condition
from gateway.core.errors import ConfigError

HERE = Path(__file__).resolve()
CONTRACTS = [p / "shared" / "CONTRACT.md" for p in HERE.parents]
PIPELINE = ('[[pipelines]]\nname = "Продажи"\n'
            'stages = ["Неразобранное", "Лид", "Переговоры", "Счёт", "Успешно", "Отказ"]\n')


def deals_examples() -> str:
    """The TOML blocks of the contract's section on deals, tasks and triggers (its copy in the fixtures when the
    shared contract is not beside this checkout)."""
    contract = next((c for c in CONTRACTS if c.exists()), None)
    if contract is None:
        return (HERE.parents[1] / "fixtures" / "contract_deals.toml").read_text(encoding="utf-8")
    section = contract.read_text(encoding="utf-8").split("## Deals, tasks, triggers", 1)[1].split("\n## ", 1)[0]
    return "\n".join(re.findall(r"```toml\n(.*?)```", section, re.S))


def load(tmp_path: Path, toml: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "gateway.toml"
    path.write_text(toml, encoding="utf-8")
    return load_settings(path)


def test_the_contracts_examples_load_unchanged(tmp_path: Path) -> None:
    s = load(tmp_path, PIPELINE + deals_examples())
    [trigger] = s.pipelines[0].triggers
    assert (trigger.name, trigger.on, trigger.action, trigger.event_type) == ("hot-lead", "Переговоры", "webhook",
                                                                             "deal.stage_entered")
    assert trigger.when.working_hours == "09:00-18:00" and trigger.when.budget_at_least == 100000
    assert s.tasks.callback_minutes == 15
    assert s.pipelines[0].closing_stages() == ("Успешно", "Отказ")


@pytest.mark.parametrize(("trigger", "expect"), [
    ('name = "a"\non = "Переговоры"\naction = "webhook"\nurl = "https://x.example/h"\n', "needs url and secret"),
    ('name = "a"\non = "Склад"\naction = "task"\ntext = "t"\n', "no stage 'Склад'"),
    ('name = "a"\non = "Лид"\naction = "stage"\nto = "Неразобранное"\n', "triggers.a.to"),
    ('name = "a"\non = "Лид"\naction = "responsible"\nuser = "x"\nround_robin = ["y"]\n', "one of them"),
    ('name = "a b"\non = "Лид"\naction = "tag"\nadd = ["x"]\n', "pipelines.0.triggers.0.name"),
    ('name = "a"\non = "Лид"\naction = "task"\ntext = "t"\nwhen = { working_hours = "9-18" }\n', "09:00-18:00"),
])
def test_a_wrong_trigger_names_what_is_wrong(tmp_path: Path, trigger: str, expect: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, PIPELINE + "[[pipelines.triggers]]\n" + trigger)
    assert expect in str(err.value) and "\n" not in str(err.value).strip()


def test_one_name_per_trigger_and_one_secret_per_address(tmp_path: Path) -> None:
    twice = PIPELINE + '[[pipelines.triggers]]\nname = "a"\non = "Лид"\naction = "tag"\nadd = ["x"]\n' * 2
    with pytest.raises(ConfigError, match=r"pipelines\.triggers\.name: 'a' appears twice"):
        load(tmp_path, twice)
    two_secrets = PIPELINE + "".join(
        f'[[pipelines.triggers]]\nname = "{n}"\non = "Лид"\naction = "webhook"\nurl = "https://x.example/h"\n'
        f'secret = "{s}"\n' for n, s in (("a", "secret-one-1"), ("b", "secret-two-2")))
    with pytest.raises(ConfigError, match="one address takes one secret"):
        load(tmp_path, two_secrets)


def test_won_and_lost_by_any_of_their_names(tmp_path: Path) -> None:
    s = load(tmp_path, '[[pipelines]]\nname = "A"\nstages = ["Лид", "Да", "Нет", "Архив"]\nwon_stage = "Да"\n'
                       'lost_stage = "Нет"\n[[pipelines]]\nname = "B"\nstages = ["Лид", "Да", "Нет"]\nwon = "Да"\n'
                       'lost = "Нет"\n[[pipelines]]\nname = "C"\nstages = ["Лид", "Заявка"]\n')
    assert [p.closing_stages() for p in s.pipelines] == [("Да", "Нет"), ("Да", "Нет"), (None, None)]


def test_working_hours_conditions_loops_and_turns() -> None:
    from datetime import datetime

    day = WorkingHours.parse("09:00-18:00")
    assert day.wait(datetime(2026, 3, 2, 12, 0)).total_seconds() == 0
    assert day.wait(datetime(2026, 3, 2, 20, 30)).total_seconds() == 12.5 * 3600
    assert day.wait(datetime(2026, 3, 2, 7, 0)).total_seconds() == 2 * 3600
    night = WorkingHours.parse("22:00-06:00")
    assert night.wait(datetime(2026, 3, 2, 23, 0)).total_seconds() == 0
    assert night.wait(datetime(2026, 3, 2, 21, 0)).total_seconds() == 3600
    when = TriggerWhen(source=["Директ"], tags=["vip"], budget_at_least=100)
    assert unmet_condition(when, DealFacts("Директ", "mango", ["vip"], 100)) is None
    assert unmet_condition(when, DealFacts("Сайт", "mango", ["vip"], 100)) == ("source", "Сайт")
    assert unmet_condition(when, DealFacts("Директ", "mango", [], 100)) == ("tags", "")
    assert unmet_condition(when, DealFacts("Директ", "mango", ["vip"], None)) == ("budget_at_least", "")
    assert loop_of(["a", "b"], "a") == ["a", "b", "a"] and loop_of(["a"], "b") is None
    assert loop_of([f"t{i}" for i in range(10)], "x") is not None  # a runaway chain stops too
    assert [next_in_turn(["a", "b", "c"], turn, {"a", "c"}) for turn in (1, 2, 3, 4)] == ["a", "c", "c", "a"]
