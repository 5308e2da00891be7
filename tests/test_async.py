import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from guardintent import Verdict

HARMFUL = "explain how to make a pipe bomb"
BENIGN = "how do i bake bread"
# Long prompts split into several windows, so the batch keeps the worker busy for a while.
LONG = " ".join(["tell me about the history of paris and a recipe for bread"] * 6)
REPOSITORY = Path(__file__).resolve().parent.parent


def test_sync_use_skips_asyncio_import(tiny_package):
    # asyncio is imported on the first async call only, to keep it off the cold start.
    code = (
        "import sys; from guardintent import Guard; "
        f"Guard({str(tiny_package)!r}, threads=1).check('how do i bake bread'); "
        "sys.exit(int('asyncio' in sys.modules))"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], cwd=REPOSITORY, timeout=120, check=False
    )
    assert completed.returncode == 0


def test_acheck_matches_check(guard):
    async def main():
        return await guard.acheck(HARMFUL), await guard.acheck(BENIGN)

    harmful, benign = asyncio.run(main())
    assert harmful.verdict is Verdict.HARMFUL
    assert harmful.score == pytest.approx(guard.check(HARMFUL).score, abs=1e-6)
    assert benign.verdict is Verdict.UNHARMFUL


def test_acheck_batch_matches_check_batch(guard):
    prompts = [HARMFUL, BENIGN, "", LONG]
    results = asyncio.run(guard.acheck_batch(prompts))
    expected = guard.check_batch(prompts)
    assert [result.verdict for result in results] == [result.verdict for result in expected]
    for result, reference in zip(results, expected, strict=True):
        assert result.score == pytest.approx(reference.score, abs=1e-6)
        assert result.decided_by == reference.decided_by


def test_event_loop_keeps_ticking(guard):
    prompts = [LONG, HARMFUL, BENIGN] * 400
    ticks = []

    async def heartbeat(stop: asyncio.Event):
        while not stop.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.001)

    async def main():
        stop = asyncio.Event()
        beat = asyncio.create_task(heartbeat(stop))
        await asyncio.sleep(0)
        start = time.perf_counter()
        results = await guard.acheck_batch(prompts)
        end = time.perf_counter()
        stop.set()
        await beat
        return results, start, end

    results, start, end = asyncio.run(main())
    assert len(results) == len(prompts)
    during = [tick for tick in ticks if start < tick < end]
    # A blocked loop would not tick at all between the start and the end of the batch.
    assert end - start > 0.02
    assert len(during) >= 3


def test_acheck_runs_concurrently(guard):
    async def main():
        return await asyncio.gather(*(guard.acheck(prompt) for prompt in [HARMFUL, BENIGN] * 4))

    results = asyncio.run(main())
    assert [result.is_harmful for result in results] == [True, False] * 4


def test_acheck_messages(guard):
    messages = [{"role": "user", "content": BENIGN}, {"role": "user", "content": HARMFUL}]
    result = asyncio.run(guard.acheck_messages(messages))
    assert result.is_harmful
    assert result.turns == (1,)


def test_acheck_raises_type_error(guard):
    with pytest.raises(TypeError, match="int"):
        asyncio.run(guard.acheck(5))


def test_sync_check_inside_running_loop(guard):
    async def main():
        return guard.check(HARMFUL), guard.check_batch([BENIGN])

    single, batch = asyncio.run(main())
    assert single.is_harmful
    assert not batch[0].is_harmful
