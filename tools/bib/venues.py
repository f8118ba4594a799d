"""The one table from a paper's short venue (as the catalog writes it) to its entry type and full name.

Why a table and not `paper.venue_full`: in the catalog `venue_full` is provenance text as each source printed it
("CVPR 2023 poster", "... (per the official README)"), not a proceedings title. A booktitle must be the same for
every paper of a venue, so the table wins for the venues it knows and `venue_full` is used only for the others.
The names are those printed on the venues' own proceedings pages (several catalog entries quote them in
`venue_full` with their sources: e.g. adaptformer, fact, vpt-deep, uniadapter).
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
    "CVPR": Venue(CONF, "Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)"),
    "ICCV": Venue(CONF, "Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV)"),
    "ICCVW": Venue(CONF, "Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV) Workshops"),
    "WACV": Venue(CONF, "Proceedings of the IEEE/CVF Winter Conference on Applications of Computer Vision (WACV)"),
    "ECCV": Venue(CONF, "European Conference on Computer Vision (ECCV)"),
    "NeurIPS": Venue(CONF, "Advances in Neural Information Processing Systems (NeurIPS)"),
    "ICLR": Venue(CONF, "International Conference on Learning Representations (ICLR)"),
    "ICML": Venue(CONF, "Proceedings of the International Conference on Machine Learning (ICML)"),
    "AAAI": Venue(CONF, "Proceedings of the AAAI Conference on Artificial Intelligence"),
    "AISTATS": Venue(CONF, (
        "Proceedings of the International Conference on Artificial Intelligence and Statistics (AISTATS)"
    )),
    "ACL": Venue(CONF, "Proceedings of the Annual Meeting of the Association for Computational Linguistics (ACL)"),
    "NAACL Findings": Venue(CONF, "Findings of the Association for Computational Linguistics: NAACL"),
    "ACM MM": Venue(CONF, "Proceedings of the ACM International Conference on Multimedia"),
    "TPAMI": Venue(JOUR, "IEEE Transactions on Pattern Analysis and Machine Intelligence"),
    "IJCV": Venue(JOUR, "International Journal of Computer Vision"),
    "TMM": Venue(JOUR, "IEEE Transactions on Multimedia"),
    "TCSVT": Venue(JOUR, "IEEE Transactions on Circuits and Systems for Video Technology"),
    "TIP": Venue(JOUR, "IEEE Transactions on Image Processing"),
    "TMLR": Venue(JOUR, "Transactions on Machine Learning Research"),
    "arXiv": Venue("preprint", "arXiv"),
}


def venue_of(short: str | None) -> Venue | None:
    return VENUES.get(short) if short else None


def short_name(container: str) -> str | None:
    """The table's short name for a booktitle or journal as a contributor wrote it, if recognisable."""
    text = " ".join(container.split()).lower()
    for short, venue in VENUES.items():
        if text == venue.full.lower() or text == short.lower() or f"({short.lower()})" in text:
            return short
    for short, venue in VENUES.items():
        bare = venue.full.split(" (")[0].lower()
        if venue.kind != "preprint" and bare in text:
            return short
    return None
