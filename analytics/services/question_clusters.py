"""Grouping Korean questions that ask the same thing (knowledge-gap loop, seed 002 Phase 6).

1. normalise: NFKC, lower case, punctuation and spacing folded; Kiwi content morphemes as lemmas
   (so "며칠인가요" and "며칠이에요" meet);
2. near-duplicates: MinHash over character 3-grams of the spaceless text, LSH buckets, union-find
   (datasketch) - cheap, and it catches spacing and ending variants;
3. clusters: TF-IDF over morphemes and character n-grams of each near-duplicate group, merged by
   average-linkage agglomerative clustering under a cosine distance threshold (scikit-learn).

Nothing is downloaded: Kiwi ships its model, the rest is arithmetic.
"""

import numpy as np
from datasketch import MinHash, MinHashLSH
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize as l2_normalise

from analytics.services.question_text import normalise, shingles
from rag.providers.local_embedder import kiwi_morphemes_batch

MINHASH_PERMUTATIONS = 64
NEAR_DUPLICATE_JACCARD = 0.5
CLUSTER_DISTANCE = 0.9  # cosine distance under which groups are merged (tuned on analytics/data, no held-out set)
MORPHEME_WEIGHT = 0.5  # share of the morpheme view in the combined vector (the rest: character n-grams)


def near_duplicate_groups(texts: list[str]) -> list[int]:
    """A group number per (normalised) text; texts whose 3-gram Jaccard is likely >= the threshold share one."""
    lsh = MinHashLSH(threshold=NEAR_DUPLICATE_JACCARD, num_perm=MINHASH_PERMUTATIONS)
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for number, text in enumerate(texts):
        signature = MinHash(num_perm=MINHASH_PERMUTATIONS, seed=1)
        signature.update_batch([shingle.encode() for shingle in shingles(text)])
        for other in lsh.query(signature):
            parent[root(number)] = root(int(other))
        lsh.insert(str(number), signature)
    roots = [root(i) for i in range(len(texts))]
    numbering = {r: n for n, r in enumerate(dict.fromkeys(roots))}
    return [numbering[r] for r in roots]


def cluster_questions(questions: list[str]) -> list[int]:
    """A cluster number per question (same number: the same information need)."""
    if not questions:
        return []
    texts = [normalise(q) for q in questions]
    groups = near_duplicate_groups(texts)
    if max(groups) == 0:
        return groups
    # One document per near-duplicate group: its texts together.
    documents = [""] * (max(groups) + 1)
    morpheme_documents = [""] * len(documents)
    for text, morphemes, group in zip(texts, kiwi_morphemes_batch(texts), groups, strict=True):
        documents[group] += " " + text
        morpheme_documents[group] += " " + " ".join(morphemes)
    by_morpheme = TfidfVectorizer(analyzer="word", token_pattern=r"\S+", sublinear_tf=True).fit_transform(
        morpheme_documents
    )
    by_characters = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), sublinear_tf=True).fit_transform(documents)
    vectors = np.hstack([MORPHEME_WEIGHT * by_morpheme.toarray(), (1 - MORPHEME_WEIGHT) * by_characters.toarray()])
    vectors = l2_normalise(vectors)
    merged = AgglomerativeClustering(
        n_clusters=None, distance_threshold=CLUSTER_DISTANCE, metric="cosine", linkage="average"
    ).fit_predict(vectors)
    return [int(merged[group]) for group in groups]


def recovered_groups(truth: list[str], predicted: list[int], *, share: float = 0.7) -> float:
    """Share of true groups recovered: most of a group's questions (>= share) fall in one cluster
    that is mostly (>= share) that group."""
    recovered = 0
    labels = sorted(set(truth))
    for label in labels:
        members = [p for t, p in zip(truth, predicted, strict=True) if t == label]
        cluster = max(set(members), key=members.count)
        in_cluster = [t for t, p in zip(truth, predicted, strict=True) if p == cluster]
        if members.count(cluster) >= share * len(members) and in_cluster.count(label) >= share * len(in_cluster):
            recovered += 1
    return recovered / len(labels)
