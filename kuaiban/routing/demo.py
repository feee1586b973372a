"""Demo routing: once the demo ledger has enough closed appeals, train and activate the category
and lead-unit models from it, so the intake form suggests from the first minute."""

from __future__ import annotations

from kuaiban.core.errors import DomainError
from kuaiban.org.demo import Directory
from kuaiban.routing import services
from kuaiban.routing.models import ModelVersion, Target

MIN_CLOSED = 300
DEMO_FOLDS = 3


def load(directory: Directory, *, seed: int, with_appeals: bool) -> str:
    services.system_user()
    if not with_appeals:
        return ""
    done: list[str] = []
    for target in Target.values:
        if ModelVersion.objects.filter(target=target, active=True).exists():
            continue
        texts, labels = services.ledger_samples(target=target)
        if len(texts) < MIN_CLOSED:
            continue
        try:
            row = services.model_train(
                target=target,
                texts=texts,
                labels=labels,
                source=f"demo ledger: {len(texts)} closed appeals",
                cv_folds=DEMO_FOLDS,
                seed=seed,
            )
        except DomainError:
            continue
        done.append(f"{target} {row.cv_macro_f1:.2f}" if row.cv_macro_f1 is not None else target)
    if not done:
        return ""
    return f"Routing models trained on the demo ledger (CV macro-F1): {', '.join(done)}."
