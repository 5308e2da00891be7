"""The intent-aware guard model: one encoder, a prompt tower, an intent tower and two heads.

The prompt tower maps a prompt to an intent embedding; the intent tower maps an intent
description into the same space, so intents are retrieved by cosine similarity. The harm head
reads the pooled encoder state *and* the intent embedding, so the intent sits between the prompt
and the verdict, as in Ferrao et al., "Paved with True Intents".
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812
from transformers import AutoModel, BertConfig, BertModel, PreTrainedModel

from guardintent.data.schema import LABELS
from guardintent.taxonomy import CATEGORY_IDS

CONFIG_FILE = "guard_config.json"
ENCODER_CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"


@dataclass
class GuardModelConfig:
    """Hyper-parameters that define the model's shape, stored beside its weights."""

    base_model: str
    embedding_dim: int = 256
    labels: list[str] = field(default_factory=lambda: list(LABELS))
    categories: list[str] = field(default_factory=lambda: list(CATEGORY_IDS))
    intent_scale: float = 20.0
    max_length: int = 128
    window_stride: int = 32
    head_dropout: float = 0.1

    def save(self, folder: Path) -> None:
        """Write the config as JSON into `folder`."""
        (folder / CONFIG_FILE).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> GuardModelConfig:
        """Read the config written by `save`."""
        return cls(**json.loads((folder / CONFIG_FILE).read_text()))


class GuardOutput(NamedTuple):
    """Outputs of one forward pass; names match the exported graph's outputs."""

    harm_logits: torch.Tensor
    category_logits: torch.Tensor
    intent_embedding: torch.Tensor
    pooled_embedding: torch.Tensor


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average the token states where the attention mask is 1."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)


class IntentGuardModel(nn.Module):
    """Encoder with harm, hazard-category and intent heads, plus the intent tower."""

    def __init__(self, encoder: PreTrainedModel, config: GuardModelConfig) -> None:
        super().__init__()
        hidden = encoder.config.hidden_size
        self.config = config
        self.encoder = encoder
        self.prompt_projection = nn.Linear(hidden, config.embedding_dim)
        self.intent_projection = nn.Linear(hidden, config.embedding_dim)
        self.harm_head = nn.Sequential(
            nn.Linear(hidden + config.embedding_dim, hidden),
            nn.GELU(),
            nn.Dropout(config.head_dropout),
            nn.Linear(hidden, len(config.labels)),
        )
        self.category_head = nn.Linear(hidden, len(config.categories))

    def pool(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Return the mean-pooled encoder state of each sequence."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
        return mean_pool(hidden, attention_mask)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> GuardOutput:
        """Score prompts: harm logits, category logits and the normalised intent embedding."""
        pooled = self.pool(input_ids, attention_mask)
        intent = F.normalize(self.prompt_projection(pooled), dim=-1)
        harm_logits = self.harm_head(torch.cat([pooled, intent], dim=-1))
        return GuardOutput(harm_logits, self.category_head(pooled), intent, pooled)

    def embed_intents(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Embed intent descriptions with the intent tower (L2-normalised)."""
        return F.normalize(self.intent_projection(self.pool(input_ids, attention_mask)), dim=-1)

    @classmethod
    def from_pretrained_encoder(cls, encoder_dir: Path, config: GuardModelConfig
                                ) -> IntentGuardModel:
        """Build a fresh model on top of a pretrained encoder folder (Hugging Face layout)."""
        encoder = AutoModel.from_pretrained(
            str(encoder_dir), local_files_only=True, add_pooling_layer=False
        )
        return cls(encoder, config)

    def keep_layers(self, count: int) -> None:
        """Shrink the encoder to `count` of its layers, evenly spaced and ending at the last.

        This is how a student starts: all-MiniLM-L6-v2 cut to 3 layers keeps layers 2, 4 and 6,
        as DistilBERT kept every other layer of its teacher.
        """
        layers = self.encoder.encoder.layer
        if not 1 <= count <= len(layers):
            raise ValueError(f"cannot keep {count} layers of an encoder with {len(layers)}; "
                             f"pass a count from 1 to {len(layers)}")
        step = len(layers) / count
        kept = [round(step * (index + 1)) - 1 for index in range(count)]
        self.encoder.encoder.layer = nn.ModuleList(layers[index] for index in kept)
        self.encoder.config.num_hidden_layers = count

    def save(self, folder: Path) -> None:
        """Write weights (safetensors), the guard config and the encoder config into `folder`."""
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        state = {name: tensor.detach().contiguous() for name, tensor in self.state_dict().items()}
        save_file(state, str(folder / WEIGHTS_FILE))
        self.config.save(folder)
        self.encoder.config.to_json_file(str(folder / ENCODER_CONFIG_FILE))

    @classmethod
    def load(cls, folder: Path) -> IntentGuardModel:
        """Load a model written by `save`, without any download."""
        from safetensors.torch import load_file

        encoder = BertModel(BertConfig.from_json_file(str(folder / ENCODER_CONFIG_FILE)),
                            add_pooling_layer=False)
        model = cls(encoder, GuardModelConfig.load(folder))
        model.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        return model.eval()
