"""Visitors touring the expo, for bench/load_tour.py (locust): the hall, pavilion pages and their media, search,
themed days, the cloud class and knowledge contests.

Each simulated visitor comes from an address of its own, as a CDN in front of the site reports it in X-Forwarded-For
(the load run sets EXPO_TRUSTED_PROXIES=1), and half of them read the English interface. Visitors who take a contest
hold an API token made for them beforehand (EXPO_LOAD_TOKENS: a JSON file of tokens).
"""
import itertools
import json
import os
import random
import re

from locust import HttpUser, between, task

_TOKENS = iter(json.loads(open(os.environ["EXPO_LOAD_TOKENS"]).read()) if os.environ.get("EXPO_LOAD_TOKENS") else [])
_ADDRESSES = (f"198.18.{n // 250}.{n % 250 + 1}" for n in itertools.count())
_MEDIA = re.compile(r'(?:src|href|poster|data-src|data-hls|data-panorama|srcset)="(/media/[^" ,]+)')
_WORDS = ["安全", "网络", "个人信息", "security", "campus", "防护", "金融", "youth", "privacy", "反诈"]


class Visitor(HttpUser):
    """A netizen: reads the hall, opens pavilions and their media, searches, and sometimes takes a contest."""

    wait_time = between(1, 3)

    def on_start(self):
        self.client.headers.update({
            "X-Forwarded-For": next(_ADDRESSES),
            "Accept-Language": random.choice(["zh-CN,zh;q=0.9", "en"]),
            "User-Agent": "Mozilla/5.0 (expo load test) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"})
        self.token = next(_TOKENS, None)
        self.contests_done = set()
        self.slugs, self.media = [], {}
        self.hall()

    @task(4)
    def hall(self):
        answer = self.client.get("/", name="/ (hall)")
        self.slugs = sorted(set(re.findall(r'href="/pavilions/([^"?#]+)"', answer.text))) or self.slugs

    @task(8)
    def pavilion(self):
        if not self.slugs:
            return
        slug = random.choice(self.slugs)
        answer = self.client.get(f"/pavilions/{slug}", name="/pavilions/[slug]")
        found = [url for url in _MEDIA.findall(answer.text) if not url.endswith((".m3u8",))]
        self.media[slug] = found or self.media.get(slug, [])
        for url in random.sample(found, min(2, len(found))):
            self.client.get(url, name="/media/[file]")

    @task(2)
    def search(self):
        self.client.get("/", params={"q": random.choice(_WORDS)}, name="/?q= (search)")

    @task(1)
    def programme(self):
        path = random.choice(["/works", "/contests", "/live"])
        self.client.get(path, name=path)

    @task(1)
    def contest(self):
        if not self.token:
            return
        auth = {"Authorization": f"Bearer {self.token}"}
        listed = self.client.get("/api/v1/contests", name="/api/v1/contests").json()
        open_ones = [c for c in listed if c["id"] not in self.contests_done and c.get("questions")]
        if not open_ones:
            return
        contest = random.choice(open_ones)
        self.contests_done.add(contest["id"])
        with self.client.post(f"/api/v1/contests/{contest['id']}/attempts", headers=auth,
                              name="/api/v1/contests/[id]/attempts", catch_response=True) as started:
            if started.status_code == 409:  # closed, or already taken: a visitor's ordinary answer
                started.success()
                return
        attempt = started.json()
        answers = [{"question": q["id"], "options": [random.choice(q["options"])["id"]]}
                   for q in attempt.get("questions", []) if q.get("options")]
        self.client.post(f"/api/v1/attempts/{attempt['id']}/answers", json={"answers": answers}, headers=auth,
                         name="/api/v1/attempts/[id]/answers")
