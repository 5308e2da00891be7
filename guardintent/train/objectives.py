"""Training objectives of the four regimes: sft, distill, dpo and grpo.

Each objective is an `nn.Module` whose forward takes one `Batch` and returns the loss and its
parts, so accelerate/DDP wraps one call per step whatever the regime. Every regime scores an
example by its most harmful window (multiple-instance learning), the rule the client applies.

The intent "policy" of a prompt is a softmax over the batch's candidate intents: the batch's own
intents plus intents sampled from the bank. Its logits are the cosines between the prompt's
intent embedding and the intent tower's embeddings of the candidates, times the intent scale.
DPO and GRPO optimise that distribution, as Ferrao et al., "Paved with True Intents", optimise
the intent a generative guard writes before its verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812

from guardintent.train.dataset import Batch
from guardintent.train.model import GuardOutput, IntentGuardModel

HARMFUL = 1


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss terms; `intent` scales the regime's own intent term."""

    category: float = 0.5
    intent: float = 1.0


def most_harmful_window(harm_logits: torch.Tensor, owner: torch.Tensor, examples: int
                        ) -> torch.Tensor:
    """Return, for each example, the row of its window with the largest harmful margin."""
    margin = (harm_logits[:, 1] - harm_logits[:, 0]).detach()
    table = torch.full((examples, len(owner)), float("-inf"), device=margin.device)
    table[owner, torch.arange(len(owner), device=margin.device)] = margin
    return table.argmax(dim=1)


def category_loss(category_logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor
                  ) -> torch.Tensor:
    """Return the masked mean of the per-example binary cross-entropy over categories."""
    per_item = F.binary_cross_entropy_with_logits(
        category_logits, targets, reduction="none").mean(dim=1)
    return (per_item * mask).sum() / mask.sum().clamp(min=1.0)


def intent_log_probs(model: IntentGuardModel, prompt_embedding: torch.Tensor, batch: Batch
                     ) -> torch.Tensor:
    """Return log P(candidate intent | prompt), `[examples, candidates]`."""
    intents = model.embed_intents(batch.intent_ids, batch.intent_mask)
    logits = model.config.intent_scale * prompt_embedding @ intents.T
    return F.log_softmax(logits, dim=-1)


class _Objective(nn.Module):
    """Shared parts: the scored window of each example, and the harm and category losses."""

    def __init__(self, model: IntentGuardModel, weights: LossWeights) -> None:
        super().__init__()
        self.model = model
        self.weights = weights

    def _score(self, batch: Batch) -> tuple[GuardOutput, torch.Tensor]:
        output = self.model(batch.input_ids, batch.attention_mask)
        best = most_harmful_window(output.harm_logits, batch.window_owner, len(batch.labels))
        return output, best

    def _supervised(self, output: GuardOutput, best: torch.Tensor, batch: Batch
                    ) -> tuple[torch.Tensor, torch.Tensor]:
        harm = F.cross_entropy(output.harm_logits[best], batch.labels)
        category = category_loss(output.category_logits[best], batch.category_targets,
                                 batch.category_mask)
        return harm, category


class SFTObjective(_Objective):
    """Harm cross-entropy + category BCE + InfoNCE between prompt and intent-tower embeddings.

    With `weights.intent == 0` and `weights.category == 0` this is the intent-free baseline:
    the harm head alone is trained.
    """

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Return the weighted loss of one batch and its parts."""
        output, best = self._score(batch)
        harm, category = self._supervised(output, best, batch)
        total = harm + self.weights.category * category
        parts = {"harm": harm.item(), "category": category.item()}
        if self.weights.intent > 0:
            log_probs = intent_log_probs(self.model, output.intent_embedding[best], batch)
            intent = F.nll_loss(log_probs, batch.intent_index)
            total = total + self.weights.intent * intent
            parts["intent"] = intent.item()
        return total, parts


class DistillObjective(_Objective):
    """Learn a teacher's harm probability, categories and intent distribution.

    The batch carries the teacher's targets (see `guardintent.train.teacher`). For each term the
    loss mixes the teacher's soft target (weight `alpha`) with the source label (1 - `alpha`).
    Examples whose teacher verdict disagrees with the source label fall back to the label
    alone. With `verdict_only` only the harm term is trained: the label-only ablation that
    drops the intent and category signals.
    """

    def __init__(self, model: IntentGuardModel, weights: LossWeights, alpha: float = 0.5,
                 verdict_only: bool = False) -> None:
        super().__init__(model, weights)
        self.alpha = alpha
        self.verdict_only = verdict_only

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Return the weighted loss of one batch and its parts."""
        teacher = batch.teacher
        if teacher is None:
            raise ValueError("the distill regime needs teacher targets in every batch")
        output, best = self._score(batch)
        agrees = teacher.agrees.to(output.harm_logits.dtype)
        log_student = F.log_softmax(output.harm_logits[best], dim=-1)
        soft_target = torch.stack([1 - teacher.harm, teacher.harm], dim=-1)
        soft = -(soft_target * log_student).sum(dim=-1)
        hard = F.nll_loss(log_student, batch.labels, reduction="none")
        harm = (self.alpha * agrees * soft + (1 - self.alpha * agrees) * hard).mean()
        parts = {"harm": harm.item()}
        if self.verdict_only:
            return harm, parts

        targets = torch.where(agrees[:, None] > 0, teacher.categories, batch.category_targets)
        category = category_loss(output.category_logits[best], targets, batch.category_mask)
        log_probs = intent_log_probs(self.model, output.intent_embedding[best], batch)
        soft_intent = -(teacher.intent_probs * log_probs).sum(dim=-1)
        hard_intent = F.nll_loss(log_probs, batch.intent_index, reduction="none")
        intent = (self.alpha * agrees * soft_intent
                  + (1 - self.alpha * agrees) * hard_intent).mean()
        total = harm + self.weights.category * category + self.weights.intent * intent
        parts.update(category=category.item(), intent=intent.item())
        return total, parts


class _ReferenceObjective(_Objective):
    """An objective that compares the policy with a frozen reference model."""

    def __init__(self, model: IntentGuardModel, reference: IntentGuardModel,
                 weights: LossWeights) -> None:
        super().__init__(model, weights)
        # Kept out of the module tree, so the optimiser, DDP and checkpoints ignore it.
        self._reference = (reference.eval().requires_grad_(False),)

    @torch.no_grad()
    def _reference_log_probs(self, batch: Batch) -> torch.Tensor:
        """Return the reference model's intent log-probabilities at its own scored windows."""
        reference = self._reference[0]
        output = reference(batch.input_ids, batch.attention_mask)
        best = most_harmful_window(output.harm_logits, batch.window_owner, len(batch.labels))
        return intent_log_probs(reference, output.intent_embedding[best], batch)


def wrong_verdict(batch: Batch) -> torch.Tensor:
    """Mark, `[examples, candidates]`, each intent whose harm prior implies the wrong verdict.

    An intent implies "harmful" when at least half of the training prompts with it are harmful.
    """
    implies_harmful = batch.intent_priors >= 0.5
    is_harmful = batch.labels == HARMFUL
    return implies_harmful[None, :] != is_harmful[:, None]


def pick_rejected(reference_log_probs: torch.Tensor, batch: Batch, flip_bonus: float = 2.0
                  ) -> torch.Tensor:
    """Pick, per example, the wrong intent the reference model ranks highest.

    Wrong intents whose harm prior implies the other verdict get `flip_bonus` nats, so they
    are chosen unless a same-verdict intent is far more likely.
    """
    scores = reference_log_probs + flip_bonus * wrong_verdict(batch).to(reference_log_probs.dtype)
    rows = torch.arange(len(batch.labels), device=scores.device)
    scores[rows, batch.intent_index] = float("-inf")
    return scores.argmax(dim=-1)


class DPOObjective(_ReferenceObjective):
    """Direct preference optimisation over the intent distribution, plus the supervised heads.

    Chosen = the example's true intent. Rejected = the reference model's own most likely wrong
    intent, above all one that implies the wrong verdict. With margin = (log pi(chosen) -
    log ref(chosen)) - (log pi(rejected) - log ref(rejected)), the loss is
    -log sigmoid(beta * margin), plus `anchor` times the sft intent loss, -log pi(chosen).
    Without that anchor the intent embedding, which the harm head also reads, is free to drift
    away from the intent tower.
    """

    def __init__(self, model: IntentGuardModel, reference: IntentGuardModel,
                 weights: LossWeights, beta: float = 0.1, anchor: float = 1.0) -> None:
        super().__init__(model, reference, weights)
        self.beta = beta
        self.anchor = anchor

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Return the weighted loss of one batch and its parts."""
        output, best = self._score(batch)
        harm, category = self._supervised(output, best, batch)
        policy = intent_log_probs(self.model, output.intent_embedding[best], batch)
        reference = self._reference_log_probs(batch)
        rejected = pick_rejected(reference, batch)
        chosen = batch.intent_index
        rows = torch.arange(len(chosen), device=policy.device)
        margin = ((policy[rows, chosen] - reference[rows, chosen])
                  - (policy[rows, rejected] - reference[rows, rejected]))
        preference = -F.logsigmoid(self.beta * margin).mean()
        anchor = F.nll_loss(policy, chosen)
        total = (harm + self.weights.category * category
                 + self.weights.intent * (preference + self.anchor * anchor))
        accuracy = (policy[rows, chosen] > policy[rows, rejected]).float().mean()
        return total, {"harm": harm.item(), "category": category.item(),
                       "dpo": preference.item(), "anchor": anchor.item(),
                       "preference_accuracy": accuracy.item()}


class GRPOObjective(_ReferenceObjective):
    """Group-relative policy optimisation of the intent a prompt is read as.

    For each prompt, `group_size` intents are sampled from the policy's distribution over the
    candidates. Reward = verdict correctness x intent faithfulness: correctness is 1 when the
    harm head, reading the prompt with the sampled intent's embedding, returns the true label;
    faithfulness is the cosine (floored at 0) between the sampled and the reference intent
    under a frozen judge encoder (`Batch.judge_similarity`). Advantages are the rewards minus
    their group mean over the group's standard deviation. The loss is the clipped surrogate
    plus `kl_weight` times KL(policy || reference) over the candidates, plus `anchor` times the
    sft intent loss on the example's labelled intent (as in `DPOObjective`), plus the
    supervised heads.
    """

    def __init__(self, model: IntentGuardModel, reference: IntentGuardModel,
                 weights: LossWeights, group_size: int = 4, clip: float = 0.2,
                 kl_weight: float = 0.05, anchor: float = 1.0) -> None:
        super().__init__(model, reference, weights)
        self.group_size = group_size
        self.clip = clip
        self.kl_weight = kl_weight
        self.anchor = anchor

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Return the weighted loss of one batch and its parts."""
        if batch.judge_similarity is None:
            raise ValueError("the grpo regime needs judge similarities in every batch")
        output, best = self._score(batch)
        harm, category = self._supervised(output, best, batch)
        policy = intent_log_probs(self.model, output.intent_embedding[best], batch)
        samples = torch.multinomial(policy.detach().exp(), self.group_size, replacement=True)
        rewards = self._rewards(output, best, batch, samples)
        advantages = ((rewards - rewards.mean(dim=1, keepdim=True))
                      / (rewards.std(dim=1, keepdim=True) + 1e-4))

        sampled = policy.gather(1, samples)
        # One optimisation step per sample, so the behaviour policy is the detached policy and
        # the ratio starts at 1. The clipped form keeps the objective the standard one.
        ratio = (sampled - sampled.detach()).exp()
        surrogate = torch.minimum(ratio * advantages,
                                  ratio.clamp(1 - self.clip, 1 + self.clip) * advantages)
        reference = self._reference_log_probs(batch)
        kl = (policy.exp() * (policy - reference)).sum(dim=-1).mean()
        policy_loss = -surrogate.mean() + self.kl_weight * kl
        anchor = F.nll_loss(policy, batch.intent_index)
        total = (harm + self.weights.category * category
                 + self.weights.intent * (policy_loss + self.anchor * anchor))
        return total, {"harm": harm.item(), "category": category.item(),
                       "policy": policy_loss.item(), "kl": kl.item(), "anchor": anchor.item(),
                       "reward": rewards.mean().item()}

    @torch.no_grad()
    def _rewards(self, output: GuardOutput, best: torch.Tensor, batch: Batch,
                 samples: torch.Tensor) -> torch.Tensor:
        intents = self.model.embed_intents(batch.intent_ids, batch.intent_mask)
        pooled = output.pooled_embedding[best]
        examples, group = samples.shape
        features = torch.cat([pooled.repeat_interleave(group, dim=0),
                              intents[samples.reshape(-1)]], dim=-1)
        verdicts = self.model.harm_head(features).argmax(dim=-1).reshape(examples, group)
        correct = (verdicts == batch.labels[:, None]).to(pooled.dtype)
        rows = torch.arange(examples, device=samples.device)[:, None]
        faithful = batch.judge_similarity[rows, samples].clamp(min=0.0)
        return correct * faithful
