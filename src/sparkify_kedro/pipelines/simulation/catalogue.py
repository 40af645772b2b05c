"""The simulated song catalogue: artists, songs as ready-made JSON fragments, popularity."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from sparkify_kedro.pipelines.simulation.primitives import VOCABULARY, double_encode


@dataclass(frozen=True)
class Catalogue:
    """Songs as ready-made JSON fragments, their lengths and cumulative popularity."""

    fragments: tuple[str, ...]
    lengths: tuple[float, ...]
    cumulative_popularity: np.ndarray


@lru_cache(maxsize=4)
def build_catalogue(
    seed: int,
    *,
    n_artists: int,
    n_songs: int,
    popularity_exponent: float,
    length_log_mean: float,
    length_log_sd: float,
    double_encoded_share: float,
) -> Catalogue:
    """A deterministic song catalogue (the seed and ``simulation.catalogue``): artist and
    title made from word lists, log-normal lengths (0.78 s to 3,024.7 s), Zipf-like
    popularity. Built once per Python worker."""
    rng = np.random.default_rng([seed, 7_001])
    words, nouns = VOCABULARY["name_words"], VOCABULARY["noun_words"]
    firsts = VOCABULARY["male_first_names"] + VOCABULARY["female_first_names"]
    lasts, accented_names = VOCABULARY["last_names"], VOCABULARY["accented_artists"]
    styles = rng.integers(0, 4, n_artists)
    a, b = rng.integers(0, 10**6, n_artists), rng.integers(0, 10**6, n_artists)
    artists = []
    for style, i, j in zip(styles.tolist(), a.tolist(), b.tolist(), strict=True):
        if style == 0:
            artists.append(f"The {words[i % len(words)]} {nouns[j % len(nouns)]}s")
        elif style == 1:
            artists.append(f"{firsts[i % len(firsts)]} {lasts[j % len(lasts)]}")
        elif style == 2:
            artists.append(f"{words[i % len(words)]} {nouns[j % len(nouns)]}")
        else:
            artists.append(f"{nouns[i % len(nouns)]} & the {words[j % len(words)]}s")
    accented = rng.choice(n_artists, len(accented_names), replace=False)
    for index, name in zip(accented.tolist(), accented_names, strict=True):
        artists[index] = name

    artist_of_song = rng.integers(0, n_artists, n_songs).tolist()
    t1 = rng.integers(0, 10**6, n_songs).tolist()
    t2 = rng.integers(0, 10**6, n_songs).tolist()
    title_styles = rng.integers(0, 3, n_songs).tolist()
    garbled = (rng.random(n_songs) < double_encoded_share).tolist()
    lengths = np.clip(
        rng.lognormal(length_log_mean, length_log_sd, n_songs), 0.78, 3024.7
    )
    lengths = np.round(lengths, 5).tolist()
    fragments = []
    for k in range(n_songs):
        i, j = t1[k], t2[k]
        if title_styles[k] == 0:
            title = f"{words[i % len(words)]} {nouns[j % len(nouns)]}"
        elif title_styles[k] == 1:
            title = nouns[i % len(nouns)]
        else:
            title = f"{nouns[i % len(nouns)]} of the {words[j % len(words)]} {nouns[(i + j) % len(nouns)]}"
        artist = artists[artist_of_song[k]]
        if garbled[k] and not artist.isascii():
            artist = double_encode(artist)
        fragments.append(
            f'"artist":{json.dumps(artist, ensure_ascii=False)},'
            f'"song":{json.dumps(title, ensure_ascii=False)},"length":{lengths[k]!r}'
        )
    weights = 1.0 / np.arange(1, n_songs + 1) ** popularity_exponent
    popularity = np.cumsum(weights[rng.permutation(n_songs)])
    return Catalogue(tuple(fragments), tuple(lengths), popularity / popularity[-1])
