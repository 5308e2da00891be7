"""Hazard-category taxonomy shared by the data adapters, the trainer and the guard package."""

from __future__ import annotations

# (id, description). The order is the order of the model's category outputs.
CATEGORIES: tuple[tuple[str, str], ...] = (
    ("violence", "Violence and physical harm to people or animals"),
    ("weapons", "Weapons, explosives, and chemical, biological or nuclear hazards"),
    ("cybercrime", "Malware, hacking and unauthorised access to systems"),
    ("fraud", "Fraud, scams, deception and economic harm"),
    ("illegal_activity", "Drugs, theft, trafficking and other illegal activity"),
    ("hate_harassment", "Hate speech, harassment, bullying and discrimination"),
    ("sexual_content", "Sexual and adult content"),
    ("child_safety", "Abuse or exploitation of children"),
    ("self_harm", "Suicide, self-harm and eating disorders"),
    ("privacy", "Privacy violations and exposure of personal data"),
    ("misinformation", "Misinformation, disinformation and manipulation"),
)

CATEGORY_IDS: tuple[str, ...] = tuple(category_id for category_id, _ in CATEGORIES)
