"""guardintent: an embeddable, intent-aware prompt-safety guard that runs offline on a CPU.

`Guard(path).check(prompt)` returns a `CheckResult` with the verdict, the calibrated harm
score and the user's intent. Policy options of `Guard` (allowlist, custom `Intent` objects,
per-category thresholds) adjust the verdict, and `guardintent.testing.FakeGuard` replaces a
guard in tests. `Cascade` puts a fast guard in front of a stronger one.
"""

from guardintent.cascade import Cascade, calibrate_band
from guardintent.errors import (
    CorruptPackageError,
    GuardIntentError,
    HarmfulPromptError,
    IncompatiblePackageError,
    LFSPointerError,
    MissingExtraError,
    PackageError,
    PackageNotFoundError,
    ParityError,
)
from guardintent.guard import Guard
from guardintent.policy import Intent
from guardintent.result import CheckResult, GuardInfo, IntentMatch, Verdict

__version__ = "0.1.0"

__all__ = [
    "Cascade",
    "CheckResult",
    "CorruptPackageError",
    "Guard",
    "GuardInfo",
    "GuardIntentError",
    "HarmfulPromptError",
    "IncompatiblePackageError",
    "Intent",
    "IntentMatch",
    "LFSPointerError",
    "MissingExtraError",
    "PackageError",
    "PackageNotFoundError",
    "ParityError",
    "Verdict",
    "__version__",
    "calibrate_band",
]
