import os

import numpy as np
import pytest

from guardintent import Guard
from guardintent._runtime import (
    _cgroup_cpu_quota,
    available_cpus,
    cosine_matrix,
    rank_intents,
)


def test_available_cpus_within_affinity():
    cpus = available_cpus()
    assert cpus >= 1
    assert cpus <= len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("content", "expected"),
    [("max 100000\n", None), ("150000 100000\n", 1.5), ("50000 100000", 0.5), ("garbage", None)],
)
def test_cgroup_v2_quota(tmp_path, content, expected):
    (tmp_path / "cpu.max").write_text(content)
    assert _cgroup_cpu_quota(tmp_path) == expected


def test_cgroup_v1_quota(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("300000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert _cgroup_cpu_quota(tmp_path) == 3.0
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert _cgroup_cpu_quota(tmp_path) is None


def test_cgroup_absent(tmp_path):
    assert _cgroup_cpu_quota(tmp_path) is None


def test_threads_option_sets_session(tiny_package):
    guard = Guard(tiny_package, threads=2)
    assert guard._package.session.get_session_options().intra_op_num_threads == 2


def test_rank_intents_orders_by_cosine():
    bank = np.eye(3, dtype=np.float32)
    query = np.array([[0.6, 0.8, 0.0]], dtype=np.float32)
    order, similarities, confidence = rank_intents(query, bank, top_k=2, scale=10.0)
    assert order.tolist() == [[1, 0]]
    np.testing.assert_allclose(similarities, [[0.8, 0.6]], atol=1e-6)
    logits = 10.0 * np.array([0.6, 0.8, 0.0])
    expected = np.exp(logits[1]) / np.exp(logits).sum()
    assert confidence[0] == pytest.approx(expected, rel=1e-5)


def test_cosine_matrix_equals_matrix_product():
    rng = np.random.default_rng(0)
    rows = rng.standard_normal((3, 16)).astype(np.float32)
    bank = rng.standard_normal((50, 16)).astype(np.float32)
    got = cosine_matrix(rows, bank)
    assert got.shape == (3, 50)
    np.testing.assert_allclose(got, rows @ bank.T, rtol=1e-5, atol=1e-5)
