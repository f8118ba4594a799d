"""The one table from a paper's short venue (as the catalog writes it) to its entry type and full name.

Why a table and not `paper.venue_full`: in the catalog `venue_full` is provenance text as each source printed it
("CVPR 2023 poster", "... (per the official README)"), not a proceedings title. A booktitle must be the same for
every paper of a venue, so the table wins for the venues it knows and `venue_full` is used only for the others.
Where a catalog entry's `venue_full` (checked against its sources) quotes the name, the comment on the row
names that entry; rows without one use the venue's usual name, not yet checked against a page here. Years,
volumes and pages are left out on purpose: the entry's year says when.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["conference", "journal", "preprint", "other"]


@dataclass(frozen=True)
class Venue:
    kind: Kind
    full: str


CONF: Kind = "conference"
JOUR: Kind = "journal"
VENUES: dict[str, Venue] = {
    # adapter-plus, dam-vp
    "CVPR": Venue(CONF, "Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)"),
    # binary-adapter, difffit
    "ICCV": Venue(CONF, "Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV)"),
    # sam-adapter
    "ICCVW": Venue(CONF, "Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV) Workshops"),
    # not checked
    "WACV": Venue(CONF, "Proceedings of the IEEE/CVF Winter Conference on Applications of Computer Vision (WACV)"),
    # vpt-deep
    "ECCV": Venue(CONF, "European Conference on Computer Vision (ECCV)"),
    # adaptformer, arc ("Advances in Neural Information Processing Systems 35/36")
    "NeurIPS": Venue(CONF, "Advances in Neural Information Processing Systems (NeurIPS)"),
    # lora, lpt
    "ICLR": Venue(CONF, "International Conference on Learning Representations (ICLR)"),
    # adapter-houlsby, dp-bitfit
    "ICML": Venue(CONF, "Proceedings of the International Conference on Machine Learning (ICML)"),
    # attnscale
    "AAAI": Venue(CONF, "Proceedings of the AAAI Conference on Artificial Intelligence"),
    # not checked
    "AISTATS": Venue(CONF, (
        "Proceedings of the International Conference on Artificial Intelligence and Statistics (AISTATS)"
    )),
    # bitfit, prefix-tuning
    "ACL": Venue(CONF, "Proceedings of the Annual Meeting of the Association for Computational Linguistics (ACL)"),
    # adapterbias
    "NAACL Findings": Venue(CONF, "Findings of the Association for Computational Linguistics: NAACL"),
    # e3va
    "ACM MM": Venue(CONF, "Proceedings of the ACM International Conference on Multimedia"),
    # not checked
    "TPAMI": Venue(JOUR, "IEEE Transactions on Pattern Analysis and Machine Intelligence"),
    # coop
    "IJCV": Venue(JOUR, "International Journal of Computer Vision"),
    # dpt
    "TMM": Venue(JOUR, "IEEE Transactions on Multimedia"),
    # pro-tuning
    "TCSVT": Venue(JOUR, "IEEE Transactions on Circuits and Systems for Video Technology"),
    # not checked
    "TIP": Venue(JOUR, "IEEE Transactions on Image Processing"),
    # ett, evp-2023
    "TMLR": Venue(JOUR, "Transactions on Machine Learning Research"),
    "arXiv": Venue("preprint", "arXiv"),
}


def venue_of(short: str | None) -> Venue | None:
    return VENUES.get(short) if short else None


def short_name(container: str) -> str | None:
    """The table's short name for a booktitle or journal as a contributor wrote it, if recognisable."""
    text = " ".join(container.split()).lower()
    workshop = "workshop" in text
    candidates = [(short, v) for short, v in VENUES.items() if ("workshop" in v.full.lower()) == workshop]
    for short, venue in candidates:
        if text in {venue.full.lower(), short.lower()}:
            return short
    for short, _ in candidates:
        if f"({short.lower()})" in text:
            return short
    for short, venue in candidates:
        bare = venue.full.split(" (")[0].lower()
        if venue.kind != "preprint" and bare in text:
            return short
    return None
