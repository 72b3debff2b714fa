"""What can be proved about the GPU on a machine without one: the zygote never
initialises an accelerator, CUDA children start CUDA before their limits, a
sandbox without CUDA is the grader's problem, CPU runs see no GPU, and the
float32 precision switches are pinned.  (benchmarks/gpu_check.py checks the
rest on a machine with a GPU.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from grader.assignment import default
from grader.child import accelerator
from grader.grading import CudaUnusable, Options, _run, grade
from grader.limits import Limits
from grader.problems import describe_problem
from grader.submission import read_submission

SPY = Path(__file__).resolve().parent / "simulated_gpu.py"
SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions"


def _simulated(mode: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    work = tmp_path / "work"
    work.mkdir()
    return subprocess.run(
        [sys.executable, str(SPY), mode, str(tmp_path / "out"), str(work), *extra],
        capture_output=True,
        timeout=180,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["zygote", "zygote-ahead"])
def test_zygote_start_touches_no_accelerator_with_a_simulated_gpu(tmp_path, mode):
    """Warm-up, the check before serving and the greeting, with a GPU claimed
    present: no CUDA or accelerator entry point, no backward pass (autograd's
    device threads); nor does forking a child that starts CUDA ahead of its
    run ("zygote-ahead").  The control shows the spies see what the old
    warm-up did (an Adam step asks for the current stream; a backward starts
    the engine)."""
    done = _simulated(mode, tmp_path)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    seen = json.loads((tmp_path / "out").read_text())
    assert seen["error"] == ""
    assert seen["zygote"] == []
    assert "torch.accelerator.current_stream" in seen["control"]
    assert any("run_backward" in c for c in seen["control"])
    assert seen["initialised"] is False
    assert b'"gpus":1' in done.stdout  # the greeting counts GPUs through NVML only
    if mode == "zygote-ahead":  # the submission was taken, and the child ahead forked
        assert b'"op":"ok"' in done.stdout


def test_zygote_refuses_to_serve_once_cuda_is_initialised(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    with pytest.raises(RuntimeError, match="initialised CUDA"):
        accelerator.assert_untouched()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["child", "ahead"])
def test_cuda_child_starts_cuda_before_its_limits(tmp_path, mode):
    done = _simulated(mode, tmp_path)
    assert done.returncode == 0, done.stdout.decode()[-2000:]
    events = (tmp_path / "out").read_text().splitlines()
    assert events == [f"start_cuda memory_limit={Limits().memory} as_limit=none", "set_limits"]


@pytest.mark.slow
def test_cuda_child_that_cannot_start_cuda_says_so_before_any_limit(tmp_path):
    done = _simulated("child", tmp_path, "fail")
    assert done.returncode == accelerator.EXIT_NO_CUDA
    assert (tmp_path / "out").read_text().splitlines() == [
        f"start_cuda memory_limit={Limits().memory} as_limit=none"
    ]
    assert (
        b"CUDA is not usable in the sandbox: RuntimeError: CUDA driver initialization "
        b"failed (simulated)" in done.stdout
    )


def test_gpu_memory_share_follows_the_memory_limit():
    assert accelerator.gpu_memory_fraction(2 << 30, 8 << 30) == 0.25
    assert accelerator.gpu_memory_fraction(16 << 30, 8 << 30) == 1.0


def _submission(tmp_path: Path, blocks_extra: str = "", devices_extra: str = "") -> Path:
    sub = tmp_path / "sub"
    sub.mkdir()
    for f in SOLUTIONS.glob("*.py"):
        (sub / f.name).write_text(f.read_text())
    (sub / "blocks.py").write_text((sub / "blocks.py").read_text() + blocks_extra)
    (sub / "devices.py").write_text((sub / "devices.py").read_text() + devices_extra)
    return sub


_SHOW_GPUS = "\nimport os as _os\nprint('CVD=' + repr(_os.environ.get('CUDA_VISIBLE_DEVICES')))\n"


def test_cpu_runs_see_no_gpu_but_the_devices_probe_sees_the_machine(grader, tmp_path):
    sub = _submission(tmp_path, _SHOW_GPUS, _SHOW_GPUS)
    grader.zygote.load_submission(read_submission(sub))
    mlp = _run(grader.zygote, default().by_id["mlp"], "cpu")
    devices = _run(grader.zygote, default().by_id["devices"], "cpu")
    assert "CVD=''" in mlp.output, mlp.output
    assert f"CVD={os.environ.get('CUDA_VISIBLE_DEVICES')!r}" in devices.output, devices.output


_TF32 = """
torch.backends.cuda.matmul.allow_tf32 = True
torch.set_float32_matmul_precision("medium")
_forward = MLP.forward


def _reporting_forward(self, X):
    print("precision in forward:", torch.get_float32_matmul_precision(),
          torch.backends.cuda.matmul.allow_tf32)
    return _forward(self, X)


MLP.forward = _reporting_forward
"""


def test_float32_precision_is_pinned_after_learner_code_and_reported(grader, tmp_path):
    sub = _submission(tmp_path, _TF32)
    grader.zygote.load_submission(read_submission(sub))
    obs = _run(grader.zygote, default().by_id["mlp"], "cpu")
    assert "precision in forward: highest False" in obs.output, obs.output
    assert "medium" not in obs.output.split("[grader]")[0]
    assert "[grader] the code changed torch's float32 precision settings" in obs.output
    assert "mlp/out1" not in obs.errors


def test_cuda_requested_without_cuda_is_the_graders_problem(grader, tmp_path):
    grader.zygote.load_submission(read_submission(SOLUTIONS))
    obs = _run(grader.zygote, default().by_id["mlp"], "cuda")
    assert obs.problem["kind"] == "cuda_unavailable", obs.problem
    assert obs.problem["detail"].startswith("CUDA is not usable in the sandbox: ")
    assert obs.steps == [] and obs.errors == {}
    text = describe_problem(obs.problem, Limits())
    assert "not your code's fault" in text and "CUDA is not usable in the sandbox" in text
    # the submission is then not graded at all (a grader error, never cached)
    with pytest.raises(CudaUnusable, match="CUDA is not usable in the sandbox"):
        grade(
            SOLUTIONS,
            grader.zygote,
            Options(devices=["cpu", "cuda"], limits=Limits(20.0)),
            grader.isolation,
        )


@pytest.mark.slow
def test_gpu_binds_take_only_what_cuda_needs_and_the_sandbox_starts_with_them(
    monkeypatch, tmp_path
):
    """As on a host with a driver: device nodes, parts of /sys (never all of
    it), LD_LIBRARY_PATH passed in; bubblewrap accepts them."""
    from grader import gpu_sandbox, sandbox

    libs = tmp_path / "driver-libs"
    libs.mkdir()
    monkeypatch.setattr(gpu_sandbox, "driver_present", lambda: True)
    monkeypatch.setattr(gpu_sandbox, "ensure_uvm_device", lambda: True)
    monkeypatch.setenv("LD_LIBRARY_PATH", f"{libs}:relative/ignored")
    args = gpu_sandbox.bwrap_args()
    binds = [(args[i + 1], args[i + 2]) for i, a in enumerate(args) if a == "--ro-bind"]
    assert ("/sys", "/sys") not in binds
    assert ("/sys/devices/system/cpu", "/sys/devices/system/cpu") in binds
    assert all(src.startswith(("/sys/", "/dev/", str(libs), "/etc/nvidia")) for src, _ in binds)
    assert (str(libs), str(libs)) in binds
    assert sandbox._child_env("/work")["LD_LIBRARY_PATH"] == str(libs)
    isolation = sandbox.detect_isolation()
    if not isolation.filesystem:
        pytest.skip(f"no bubblewrap here: {isolation.describe()}")
    with sandbox.Zygote(Limits(time=20.0), isolation) as zyg:
        assert zyg.proc.poll() is None  # start() returns once the zygote greets "ready"


@pytest.mark.slow
def test_gpu_check_says_no_cuda_here_in_one_json_object_with_its_own_exit_status():
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "gpu_check.py"
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, timeout=180, check=False
    )
    summary = json.loads(done.stdout)
    assert done.returncode == 2 == summary["exit_code"], done.stderr.decode()[-2000:]
    assert summary["status"] == "no_cuda"
    assert summary["reason"].startswith("no CUDA device here: ")
    assert {"torch", "driver", "device_nodes", "libcuda", "nvml_gpus"} <= set(summary["facts"])


@pytest.mark.slow
def test_start_of_grading_check_says_why_cuda_is_not_usable_in_the_sandbox():
    from grader import gpu_sandbox
    from grader.sandbox import detect_isolation

    why = gpu_sandbox.cuda_problem(Limits(time=20.0), detect_isolation())
    assert why is not None and why.startswith("CUDA is not usable in the sandbox: ")


# -- the command line's decision at the start of a grading --------------------------------
def _cli_with_a_gpu_that_does_not_work_in_the_sandbox(monkeypatch, tmp_path, device: str):
    from click.testing import CliRunner

    from grader import cli, gpu_sandbox

    asked = []

    def problem(limits, isolation):
        asked.append(limits.memory)
        return "CUDA is not usable in the sandbox: no /dev/nvidia-uvm (simulated)"

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(gpu_sandbox, "cuda_problem", problem)
    sub = tmp_path / "only_devices"
    sub.mkdir()
    (sub / "devices.py").write_text((SOLUTIONS / "devices.py").read_text())
    result = CliRunner().invoke(
        cli.main, [str(sub), "--out", str(tmp_path / "out"), "--device", device, "--jobs", "1"]
    )
    return result, asked, tmp_path / "out" / "only_devices" / "results.json"


@pytest.mark.slow
def test_cli_device_cuda_with_cuda_unusable_in_the_sandbox_is_a_usage_error(monkeypatch, tmp_path):
    result, asked, written = _cli_with_a_gpu_that_does_not_work_in_the_sandbox(
        monkeypatch, tmp_path, "cuda"
    )
    assert result.exit_code == 2, result.output
    assert "--device cuda: CUDA is not usable in the sandbox: no /dev/nvidia-uvm" in result.output
    assert asked and not written.exists()


@pytest.mark.slow
def test_cli_auto_with_cuda_unusable_in_the_sandbox_grades_on_the_cpu_and_says_so(
    monkeypatch, tmp_path
):
    result, asked, written = _cli_with_a_gpu_that_does_not_work_in_the_sandbox(
        monkeypatch, tmp_path, "auto"
    )
    assert result.exit_code == 0, result.output
    assert "CUDA is present but not usable in the sandbox" in result.output
    doc = json.loads(written.read_text())
    assert doc["metadata"]["devices"] == ["cpu"]
    devices = next(e for e in doc["exercises"] if e["id"] == "devices")
    assert devices["score"] == devices["max_score"]
