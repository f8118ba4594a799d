"""The one table from a paper's short venue (as the catalog writes it) to its entry type and full name.

Why a table and not `paper.venue_full`: in the catalog `venue_full` is provenance text as each source printed it
("CVPR 2023 poster", "... (per the official README)"), not a proceedings title. A booktitle must be the same for
every paper of a venue, so the booktitle or journal comes from this table; a venue it does not know (a workshop,
OpenReview) gives a `@misc` whose `howpublished` is the short venue.
Where a catalog entry's `venue_full` (checked against its sources) quotes the name, the comment on the row
names that entry; rows without one use the venue's usual name, not yet checked against a page here. Years,
volumes and pages are left out on purpose: the entry's year says when.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["conference", "journal", "preprint", "other"]


@dataclass(frozen=True)
class Venue:
    kind: Kind
    full: str
    # other spellings, lowercase words without punctuation: DBLP ("Computer Vision - ECCV 2022 - 17th European
    # Conference"), ACL Anthology ("Proceedings of the 60th Annual Meeting of ..."), Google Scholar ("European
    # conference on computer vision"); a booktitle containing one of them is this venue
    phrases: tuple[str, ...] = ()


CONF: Kind = "conference"
JOUR: Kind = "journal"
VENUES: dict[str, Venue] = {
    # adapter-plus, dam-vp
    "CVPR": Venue(CONF, "Proceedings of the IEEE/CVF Conference on Computer Vision and Pattern Recognition (CVPR)",
                  ("conference on computer vision and pattern recognition",)),
    # binary-adapter, difffit
    "ICCV": Venue(CONF, "Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV)",
                  ("international conference on computer vision",)),
    # sam-adapter
    "ICCVW": Venue(CONF, "Proceedings of the IEEE/CVF International Conference on Computer Vision (ICCV) Workshops",
                   ("international conference on computer vision",)),
    # not checked
    "WACV": Venue(CONF, "Proceedings of the IEEE/CVF Winter Conference on Applications of Computer Vision (WACV)",
                  ("winter conference on applications of computer vision",)),
    # vpt-deep
    "ECCV": Venue(CONF, "European Conference on Computer Vision (ECCV)", ("european conference on computer vision",)),
    # adaptformer, arc ("Advances in Neural Information Processing Systems 35/36")
    "NeurIPS": Venue(CONF, "Advances in Neural Information Processing Systems (NeurIPS)",
                     ("neural information processing systems", "nips")),
    # lora, lpt
    "ICLR": Venue(CONF, "International Conference on Learning Representations (ICLR)",
                  ("international conference on learning representations",)),
    # adapter-houlsby, dp-bitfit
    "ICML": Venue(CONF, "Proceedings of the International Conference on Machine Learning (ICML)",
                  ("international conference on machine learning",)),
    # convpass (the IOS Press page of FAIA 240489; the venue name rests on two later papers' citations)
    "ECAI": Venue(CONF, "Proceedings of the European Conference on Artificial Intelligence (ECAI)",
                  ("european conference on artificial intelligence",)),
    # attnscale
    "AAAI": Venue(CONF, "Proceedings of the AAAI Conference on Artificial Intelligence",
                  ("aaai conference on artificial intelligence",)),
    # not checked
    "AISTATS": Venue(CONF, (
        "Proceedings of the International Conference on Artificial Intelligence and Statistics (AISTATS)"
    ), ("conference on artificial intelligence and statistics",)),
    # bitfit, prefix-tuning
    "ACL": Venue(CONF, "Proceedings of the Annual Meeting of the Association for Computational Linguistics (ACL)",
                 ("annual meeting of the association for computational linguistics",)),
    # adapterbias
    "NAACL Findings": Venue(CONF, "Findings of the Association for Computational Linguistics: NAACL",
                            ("findings of the association for computational linguistics naacl",)),
    # c3a, lily (ACL Anthology: 'Findings of the Association for Computational Linguistics: ACL 2025')
    "ACL Findings": Venue(CONF, "Findings of the Association for Computational Linguistics: ACL",
                          ("findings of the association for computational linguistics acl",)),
    # e3va
    "ACM MM": Venue(CONF, "Proceedings of the ACM International Conference on Multimedia",
                    ("acm international conference on multimedia", "acm multimedia")),
    # iisan
    "SIGIR": Venue(CONF, (
        "Proceedings of the International ACM SIGIR Conference on Research and Development in Information Retrieval"
    ), ("acm sigir conference on research and development in information retrieval",)),
    # workshops: cited as `@misc` with the short name (no proceedings title is the same for every workshop paper)
    "NeurIPS Workshop": Venue("other", "NeurIPS Workshop", ("neural information processing systems", "nips")),
    "ICML Workshop": Venue("other", "ICML Workshop", ("international conference on machine learning",)),
    # not checked
    "TPAMI": Venue(JOUR, "IEEE Transactions on Pattern Analysis and Machine Intelligence",
                   ("transactions on pattern analysis and machine intelligence",)),
    # coop
    "IJCV": Venue(JOUR, "International Journal of Computer Vision", ("international journal of computer vision",)),
    # dpt
    "TMM": Venue(JOUR, "IEEE Transactions on Multimedia", ("ieee transactions on multimedia",)),
    # pro-tuning
    "TCSVT": Venue(JOUR, "IEEE Transactions on Circuits and Systems for Video Technology",
                   ("transactions on circuits and systems for video technology",)),
    # i2v-adapter (the official README's booktitle 'SIGGRAPH 2024 Conference Papers'); SIGGRAPH Asia is listed so
    # that its booktitles are not read as SIGGRAPH's
    "SIGGRAPH": Venue(CONF, "ACM SIGGRAPH Conference Papers", ("siggraph conference papers",)),
    # not checked
    "SIGGRAPH Asia": Venue(CONF, "ACM SIGGRAPH Asia Conference Papers", ("siggraph asia conference papers",)),
    # hydra (the journal's name is its whole title; TNNLS is listed so that its name is not read as this one)
    "Neural Networks": Venue(JOUR, "Neural Networks"),
    # not checked
    "TNNLS": Venue(JOUR, "IEEE Transactions on Neural Networks and Learning Systems",
                   ("transactions on neural networks and learning systems", "trans neural netw learn syst",
                    "trans neural networks learn syst")),
    # not checked
    "TIP": Venue(JOUR, "IEEE Transactions on Image Processing", ("transactions on image processing",)),
    # ett, evp-2023
    "TMLR": Venue(JOUR, "Transactions on Machine Learning Research", ("transactions on machine learning research",)),
    # not checked: the usual ACL Anthology booktitles
    "EACL": Venue(CONF, (
        "Proceedings of the Conference of the European Chapter of the Association for Computational Linguistics (EACL)"
    ), ("european chapter of the association for computational linguistics",)),
    "EMNLP": Venue(CONF, "Proceedings of the Conference on Empirical Methods in Natural Language Processing (EMNLP)",
                   ("empirical methods in natural language processing",)),
    # DBLP files arXiv papers under the journal "CoRR" (Computing Research Repository)
    "arXiv": Venue("preprint", "arXiv", ("corr", "arxiv")),
}


def venue_of(short: str | None) -> Venue | None:
    return VENUES.get(short) if short else None


def short_venues() -> list[str]:
    """The controlled list a catalog entry's `paper.venue` comes from (the long form goes in `venue_full`)."""
    return sorted(VENUES, key=str.lower)


QUALIFIERS = ("workshop", "findings")  # a booktitle with one of these is another venue than the main conference


def _words(text: str) -> str:
    """Lowercase words, punctuation and braces gone, ordinals and years dropped: how the tables are compared."""
    words = re.sub(r"[^a-z0-9]+", " ", text.lower()).split()
    return " ".join(w for w in words if not re.fullmatch(r"\d+(st|nd|rd|th)?", w))


def _qualifiers(text: str) -> set[str]:
    return {q for q in QUALIFIERS if q in text}


def short_name(container: str) -> str | None:
    """The table's short name for a booktitle or journal as a contributor, DBLP, ACL Anthology or Google Scholar
    wrote it, if recognisable: the full name, the short name as a word ("{ICML} 2019", "(ECCV)"), or a phrase."""
    text = _words(container)
    padded = f" {text} "
    candidates = [(short, v) for short, v in VENUES.items() if _qualifiers(_words(v.full)) == _qualifiers(text)]
    for short, venue in candidates:
        if text in {_words(venue.full), _words(short)}:
            return short
    # the longest short name or phrase found wins: "IEEE Trans. Neural Networks Learn. Syst." holds the journal
    # name "Neural Networks" too, but TNNLS's phrase is longer and more specific
    found = [(len(key), short) for short, venue in candidates for key in (_words(short), *venue.phrases)
             if f" {key} " in padded]
    return max(found)[1] if found else None
