"""The review loop: generate, review, then refine or rework until an image is accepted.

``generate --review`` (and the queue worker, and the MCP generate tool) run :func:`run`: each round
makes ``best_of`` candidates through :func:`pipeline.generation.run`, has each reviewed through
:func:`pipeline.review.auto` (the rubric of ``review.py --auto``) and keeps the best. On ``refine``
the next round adds the review's suggestion to the prompt; on ``reject`` it reworks the prompt from
the critique, and after two rejects in a row moves to the next model of the same capability
(:func:`models.capability.next_model`). The loop stops at ``accept``, at ``max_rounds``, or before a
round whose estimate (images and reviews) could pass ``--max-cost``, which is the whole loop's total.

Every round is kept: its images, their sidecars and ``.review.json`` files, and the loop's record
(:mod:`pipeline.loop_record`), rewritten after every step so a killed queue job resumes where it
stopped. A blank image (one flat colour) counts as a reject and is not sent for review.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BudgetError, ImageGenError, UsageError
from ..fsutil import TEMP_PREFIX, unlink_quietly, write_json_atomic
from ..localjson import read_json
from ..progress import note
from . import generation, loop_record, loop_rounds, review, rubric

if TYPE_CHECKING:
    from ..requests import GenerateRequest
    from .paid_call import PaidRun

REJECTS_BEFORE_MODEL_CHANGE = 2
STOP_REASONS = ("accepted", "max_rounds", "budget", "error")
BLANK_CRITIQUE = "the image is one flat colour: the model returned no picture"


class Loop:
    """One run of the loop: its settings, its record on disk, and the paid run that pays for it all."""

    def __init__(self, request: GenerateRequest, paid: PaidRun, *, job_id: str | None = None,
                 resumable: bool = False, extra_result: dict[str, Any] | None = None) -> None:
        if request.n != 1:
            raise UsageError("--n does not go with --review or --best-of",
                             details="use --best-of N for N candidates in each round, reviewed and ranked")
        self.request = request
        self.paid = paid
        self.job_id = job_id
        self.extra_result = extra_result or {}  # what each round's result and sidecar carry (a queue's job id)
        self.resumable = resumable  # a queue job: errors go back to the worker, the record resumes the loop
        self.rounds_allowed = request.max_rounds if request.review else 1
        self.provider = review.choose_provider(request.review_provider, need_key=not paid.options.dry_run)
        self.review_choice = review.choose_model(self.provider, request.review_model)  # a default: its chain
        self.review_model = self.review_choice.id
        self.warnings: list[str] = []
        self.base: Path | None = None
        self.record: dict[str, Any] = {}
        self.record_path: Path | None = None
        self.stamp = self.slug = self.suffix = ""
        self.spent_before = 0.0  # what earlier attempts of this job's loop cost (the record says)
        self.resumed = False  # a command line's loop taking up the record an interrupted run of it left

    # -- naming --------------------------------------------------------------------------------
    def _name_rounds(self, slug: str, stamp: str) -> None:
        """Rounds are ``<base>-r<k>`` (``hero.png`` -> ``hero-r1.png``); the record is ``<base>.loop.json``."""
        request = self.request
        self.stamp, self.slug = stamp, slug
        if request.output_file:
            out = Path(request.output_file).expanduser()
            self.base = out.with_name(out.stem)
            self.suffix = out.suffix or ".png"
        elif self.job_id:
            self.base = Path(request.output_dir).expanduser() / self.job_id
            self.suffix = ".png"
        else:
            self.base = Path(request.output_dir).expanduser() / f"{stamp}-{slug}"
            self.suffix = ""  # auto-named: the writer picks the extension of the format that comes back
        self.base = self.base.absolute()
        self.record_path = loop_record.path_for(self.base)

    def _round_request(self, number: int, model: str | None, revision: str | None) -> GenerateRequest:
        request = self.request
        assert self.base is not None
        changes: dict[str, Any] = {"review": False, "best_of": 1, "n": request.best_of}
        if model is not None:
            changes.update(model=model, fallback_model=None)
        if revision:
            changes["instructions"] = (*request.instructions, revision)
        if self.suffix:
            changes["output_file"] = str(self.base.with_name(f"{self.base.name}-r{number}{self.suffix}"))
        else:
            changes.update(output_file=None, output_dir=str(self.base.parent))
        return request.replace(**changes)

    def _writer(self, round_request: GenerateRequest, number: int) -> Any:
        """The round's writer: its explicit names, or ``<stamp>-<slug>-r<k>`` on the loop's one stamp."""
        writer = generation.writer_for(round_request, f"{self.slug}-r{number}")
        writer.stamp = self.stamp
        return writer

    # -- estimates -----------------------------------------------------------------------------
    def review_estimate(self, plan: Any) -> float | None:
        return loop_rounds.review_estimate(plan, self.provider, self.review_model, self.request.best_of)

    def round_estimate(self, plan: Any) -> float | None:
        return loop_rounds.round_estimate(plan, self.provider, self.review_model, self.request.best_of)

    # -- the loop ------------------------------------------------------------------------------
    def dry_run(self, prepared: generation.Prepared, writer: Any) -> dict[str, Any]:
        each = self.round_estimate(prepared.plan)
        result = generation.dry_run(prepared, writer, self.paid)
        result["review_loop"] = {
            "review": self.request.review, "max_rounds": self.rounds_allowed, "best_of": self.request.best_of,
            "review_provider": self.provider, "review_model": self.review_model,
            "review_estimate_usd": self.review_estimate(prepared.plan), "round_estimate_usd": each,
            "most_usd": None if each is None else round(each * self.rounds_allowed, 6),
            "max_cost_usd": self.request.max_cost,
        }
        return result

    def run(self, fields: dict[str, Any]) -> dict[str, Any]:
        prepared = generation.prepare(self.request, show_hints=self.paid.options.show_hints)
        plan = prepared.plan
        fields["model"] = plan.spec.id
        generation.notify_warnings(plan.warnings, self.paid.options.quiet)
        self._name_rounds(plan.spec.slug, generation.writer_for(self.request, plan.spec.slug).stamp)
        if self.paid.options.dry_run:
            return self.dry_run(prepared, self._writer(self._round_request(1, None, None), 1))
        assert self.record_path is not None and self.base is not None
        from ..images.writer import ensure_writable_dir

        ensure_writable_dir(self.base.parent)  # the record is written before the first image is
        settings = {"review": self.request.review, "max_rounds": self.rounds_allowed,
                    "best_of": self.request.best_of, "review_provider": self.provider,
                    "review_model": self.review_model, "max_cost_usd": self.request.max_cost,
                    "base": str(self.base), "suffix": self.suffix}
        found = None
        if self.resumable:
            found = loop_record.load(self.record_path, self.request.prompt, self.job_id)
        elif self.suffix and not self.request.overwrite:
            found = self._interrupted_run()
        if found is not None and not self._trusted(found, plan.spec.id):
            note(f"{self.record_path.name} does not describe this loop's rounds; starting afresh",
                 self.paid.options.quiet)
            found = None
        self.resumed = found is not None and not self.resumable
        if self.suffix and not self.resumable:  # every name the loop takes, refused before round 1 is paid for
            generation.writer_for(self.request, self.slug).check_before_request(1)
            recorded = len(found["rounds"]) if found is not None else 0  # an interrupted run's rounds are its own
            for number in range(recorded + 1, self.rounds_allowed + 1):
                self._writer(self._round_request(number, None, None), number).check_before_request(
                    self.request.best_of)
        if found is not None:
            self.record = found
            self.spent_before = loop_record.spent(found)
            limit = self.paid.spend.max_cost
            if limit is not None:  # --max-cost is the whole loop's, earlier attempts included
                self.paid.spend = self.paid.spend._replace(max_cost=max(0.0, round(limit - self.spent_before, 6)))
            note(f"resuming the review loop after round {len(found['rounds'])}", self.paid.options.quiet)
        else:
            self.record = loop_record.new(self.request.prompt, settings, self.job_id)
        # Resumed, the next round is checked by _plan_round against what is left; the daily budget still applies.
        first_estimate = 0.0 if found is not None else self.round_estimate(plan)
        self.paid.authorize(first_estimate, model=plan.spec.alias, count=self.request.best_of)
        try:
            self._loop(plan.spec)
            return self._result()
        except KeyboardInterrupt as stop:  # Ctrl-C or a stop signal: the error document says what is kept
            stop.loop_progress = self._progress()  # type: ignore[attr-defined]  # read by contract._interrupted
            raise

    def _interrupted_run(self) -> dict[str, Any] | None:
        """The record an interrupted ``generate --review`` run of this same command left at --out's name
        (same prompt and settings, not finished): run again, the command resumes it instead of paying
        for its rounds twice."""
        assert self.record_path is not None
        found = loop_record.load(self.record_path, self.request.prompt, None)
        if found is None or found.get("stop_reason") or found.get("chosen"):
            return None
        if found.get("best_of") != self.request.best_of or found.get("review") != self.request.review:
            return None
        return found

    def _progress(self) -> dict[str, Any]:
        """What an interrupted loop leaves: its rounds so far, their files, its record, and what they cost."""
        rounds = self.record.get("rounds") or []
        kept = [c["path"] for e in rounds for c in e.get("candidates", []) if Path(c["path"]).exists()]
        return {"rounds": [loop_rounds.round_view(e) for e in rounds if e.get("status") == "reviewed"],
                "loop_file": str(self.record_path) if self.record_path and self.record_path.exists() else None,
                "kept_paths": kept, "cost_usd": self.total_spent(), "resumable": bool(self.suffix)}

    def _loop(self, first_spec: Any) -> None:
        rounds = self.record["rounds"]
        if self.record.get("stop_reason"):
            return  # an earlier attempt finished the loop and was killed before the job was filed
        model, revision, rejects = self._resume_point(first_spec)
        tried = {first_spec.id} | {entry.get("model") for entry in rounds if isinstance(entry.get("model"), str)}
        while len(rounds) < self.rounds_allowed or (rounds and rounds[-1]["status"] != "reviewed"):
            unfinished = rounds[-1] if rounds and rounds[-1]["status"] != "reviewed" else None
            number = unfinished["round"] if unfinished else len(rounds) + 1
            try:
                if unfinished:
                    entry = unfinished  # the round a killed attempt left unfinished
                else:
                    planned = self._plan_round(number, model, revision)
                    if planned is None:
                        return
                    entry = planned
                self._finish_round(entry)
            except ImageGenError as error:
                if self._raise_instead(error):
                    raise
                self._stop("budget" if isinstance(error, BudgetError) else "error",
                           f"round {number} stopped: {error.kind}: {error.message}")
                return
            verdict = entry["verdict"]
            if verdict == "accept":
                self._stop("accepted")
                return
            rejects = rejects + 1 if verdict == "reject" else 0
            revision = loop_rounds.revision_for(entry)
            if rejects >= REJECTS_BEFORE_MODEL_CHANGE:
                following = self._next_model(entry, tried)
                if following is not None:
                    model, rejects = following, 0
                    revision = loop_rounds.revision_for(entry, fresh_model=True)
        self._stop("max_rounds")

    def _deliver(self, chosen: dict[str, Any]) -> Path:
        """The chosen image where --out asked for it: a hard link to its round's file (nothing copied, every
        round kept), with its sidecar and review beside it. Without --out, or when the name is taken by a
        file that is not this loop's, the round's own file (with a warning in the second case)."""
        source = Path(chosen["path"])
        if not self.request.output_file:
            return source
        target = Path(self.request.output_file).expanduser().absolute()
        try:
            if target.exists() and target.samefile(source):
                return target  # delivered by an attempt killed before the job was filed
            temp = target.with_name(f"{TEMP_PREFIX}{os.getpid()}-{target.name}.link")  # swept if a kill strands it
            os.link(source, temp)
            try:
                if self.request.overwrite or self.resumable and self._ours(target):
                    os.replace(temp, target)
                else:
                    os.link(temp, target)  # never replaces: a file that appeared meanwhile is kept
            finally:
                unlink_quietly(temp)
        except OSError as error:
            self.warnings.append(f"the chosen image stays at {source.name}: {target.name} could not be made "
                                 f"({error.strerror or error})")
            return source
        for suffix in (".json", ".review.json"):
            beside = source.with_name(source.name + suffix)
            try:
                record = read_json(beside, follow_links=True)
                if suffix == ".json" and isinstance(record.get("image"), dict):
                    record["image"] = {**record["image"], "file": target.name}
                record["review_loop"] = {"chosen_round": chosen["round"], "loop_file": str(self.record_path)}
                if chosen["verdict"] != "accept":
                    record["warnings"] = [unaccepted_warning(chosen, len(self.record["rounds"]))]
                write_json_atomic(target.with_name(target.name + suffix), record)
            except (OSError, ValueError, AttributeError):
                continue  # no sidecar (--no-sidecar) or no review: the image itself is delivered
        return target

    def _ours(self, target: Path) -> bool:
        """Whether ``target`` is an image this job delivered before (its sidecar names the job)."""
        try:
            record = read_json(target.with_name(target.name + ".json"), follow_links=True)
        except (OSError, ValueError):
            return False
        request = record.get("request") if isinstance(record, dict) else None
        return isinstance(request, dict) and self.job_id is not None and request.get("job_id") == self.job_id

    def _raise_instead(self, error: ImageGenError) -> bool:
        """Whether a round's failure is the run's (no round reviewed yet; or a queue job that a retry or the
        budget's reset can resume) rather than the end of the loop with the rounds it has."""
        if not any(e["status"] == "reviewed" for e in self.record["rounds"]):
            return True
        if not self.resumable:
            return False
        daily = isinstance(error, BudgetError) and error.extra.get("limit") == "daily_budget"
        return daily or (bool(error.retryable) and not isinstance(error, BudgetError))

    def _next_model(self, entry: dict[str, Any], tried: set[str]) -> str | None:
        """The next model of the same capability that can take this request (each one checked as a run
        would check it, before paying); None to stay on the current one."""
        from ..models.capability import next_model
        from ..models.registry import resolve

        spec = resolve(entry["model"], self.request.provider)
        needs_images = bool(self.request.input_images or self.request.style_refs or self.request.baseline_image)
        while (following := next_model(spec, tried, needs_image_input=needs_images)) is not None:
            tried.add(following)
            try:
                generation.prepare(self._round_request(entry["round"] + 1, following, None))
            except ImageGenError as error:
                self.warnings.append(f"{following} was passed over after two rejects: {error.message}")
                continue
            return following
        return None

    def _trusted(self, record: dict[str, Any], first_model: str) -> bool:
        """Whether a record read back names only this loop's own round files and models it could have
        chosen: a record is a file anyone with the folder can write, and its paths are sent for review."""
        from ..models.table import BY_ID

        assert self.base is not None
        for entry in record["rounds"]:
            model = entry.get("model")
            if not isinstance(model, str) or (model != first_model and model not in BY_ID
                                              and self.request.provider in (None, "openrouter")):
                return False
            for candidate in entry["candidates"]:
                path = Path(candidate["path"])
                if path.parent != self.base.parent or not path.name.startswith(f"{self.base.name}-r{entry['round']}"):
                    return False
        return True

    def _resume_point(self, first_spec: Any) -> tuple[str | None, str | None, int]:
        """The model, revision and reject count the next round starts from (from the record when resuming)."""
        done = [e for e in self.record["rounds"] if e["status"] == "reviewed"]
        if not done:
            return None, None, 0
        rejects = 0
        for entry in reversed(done):
            if entry["verdict"] != "reject" or entry["model"] != done[-1]["model"]:
                break
            rejects += 1
        model = done[-1]["model"] if done[-1]["model"] != first_spec.id else None
        return model, loop_rounds.revision_for(done[-1]), rejects

    def _plan_round(self, number: int, model: str | None, revision: str | None) -> dict[str, Any] | None:
        """The next round, recorded as started; None (and the loop stopped) when the budget cannot cover it."""
        round_request = self._round_request(number, model, revision)
        prepared = generation.prepare(round_request)
        estimate = self.round_estimate(prepared.plan)
        limit = self.request.max_cost
        spent = self.total_spent()
        if number > 1 and limit is not None and (estimate is None or spent + estimate > limit + 1e-9):
            shown = "unknown" if estimate is None else f"${estimate:.4f}"
            self._stop("budget", f"round {number} was not started: ${spent:.4f} is spent and its estimate "
                                 f"{shown} (images and reviews) could pass --max-cost {limit:g}")
            return None
        entry = {"round": number, "status": "started", "model": prepared.plan.spec.id,
                 "prompt": loop_rounds.shown_prompt(self.request.prompt, revision), "revision": revision,
                 "output_file": round_request.output_file, "candidates": [], "cost_usd": 0.0}
        self.record["rounds"].append(entry)
        self._save()
        entry["_prepared"] = prepared
        entry["_request"] = round_request
        return entry

    def total_spent(self) -> float:
        return round(self.spent_before + self.paid.spent, 6)

    def _finish_round(self, entry: dict[str, Any]) -> None:
        if entry["status"] == "started":
            self._make_images(entry)
        if entry["status"] == "saved":
            self._review_candidates(entry)

    def _make_images(self, entry: dict[str, Any]) -> None:
        number = entry["round"]
        round_request = entry.pop("_request", None) or self._round_request(
            number, entry["model"], entry.get("revision"))
        prepared = entry.pop("_prepared", None) or generation.prepare(round_request)
        prepared.plan.extra_result.update(self.extra_result)
        prepared.plan.extra_result["review_round"] = number
        writer = self._writer(round_request, number)
        before = self.paid.spent
        resuming = self.resumable or self.resumed
        result = loop_rounds.adopted(writer, self.request.best_of, self.job_id, number) if resuming else None
        if result is None:
            result = generation.run(prepared, writer, self.paid, keep_response=False)
        self.warnings += [w for w in result.pop("warnings", []) if w not in self.warnings]
        entry["result"] = result
        entry["candidates"] = [{"path": p} for p in result["all_paths"]]
        paid_now = self.paid.spent - before
        if result.get("recovered_from_previous_attempt"):  # paid by the killed attempt, not yet counted
            paid_now = float(result.get("cost_usd") or 0)
            self.spent_before = round(self.spent_before + paid_now, 6)
        entry["cost_usd"] = round(entry["cost_usd"] + paid_now, 6)
        entry["status"] = "saved"
        self._save()

    def _review_candidates(self, entry: dict[str, Any]) -> None:
        from ..images.blank import looks_blank

        for candidate in entry["candidates"]:
            if "verdict" in candidate:
                continue  # reviewed before a kill
            image = review.load_image(candidate["path"])
            if looks_blank(image.data):
                candidate.update(score=None, verdict="reject", blank=True, critique=BLANK_CRITIQUE,
                                 suggested_refinement="", review_file=None, cost_usd=0.0)
                note(f"round {entry['round']}: {image.path.name} is blank; counted as a reject, not reviewed",
                     self.paid.options.quiet)
            else:
                review.check_limits(self.provider, image)
                before = self.paid.spent
                found = review.auto([image], self.request.prompt, "flag", self.provider, self.review_choice,
                                      self.paid)
                self.warnings += [w for w in found.get("warnings", []) if w not in self.warnings]
                cost = round(self.paid.spent - before, 6)
                candidate.update({k: found.get(k) for k in (*rubric.SCORE_FIELDS, "verdict", "critique",
                                                            "suggested_refinement", "review_file")},
                                 blank=False, cost_usd=cost)
                entry["cost_usd"] = round(entry["cost_usd"] + cost, 6)
            self._save()
        best = max(entry["candidates"], key=loop_rounds.rank)
        entry.update(path=best["path"], score=best["score"], verdict=best["verdict"], critique=best["critique"],
                     suggested_refinement=best["suggested_refinement"], review_file=best.get("review_file"),
                     status="reviewed")
        self._save()
        score = "blank" if best["score"] is None else f"{best['score']}/10"
        note(f"round {entry['round']}: {best['verdict']} ({score}) {Path(best['path']).name}", self.paid.options.quiet)

    # -- the end -------------------------------------------------------------------------------
    def _stop(self, reason: str, why: str | None = None) -> None:
        assert reason in STOP_REASONS, reason
        self.record["stop_reason"] = reason
        if why:
            self.warnings.append(why)
        self._save()

    def _save(self) -> None:
        assert self.record_path is not None
        shown = dict(self.record)
        shown["rounds"] = [{k: v for k, v in e.items() if not k.startswith("_")} for e in self.record["rounds"]]
        loop_record.save(self.record_path, shown, self.warnings)

    def _result(self) -> dict[str, Any]:
        rounds = [e for e in self.record["rounds"] if e["status"] == "reviewed"]
        if not rounds:
            raise ImageGenError("the review loop ended without a reviewed round", kind="internal")
        chosen = max(rounds, key=lambda e: (e["verdict"] == "accept", loop_rounds.rank(e), -e["round"]))
        self.record["chosen"] = chosen["path"]
        self.record["chosen_round"] = chosen["round"]
        if chosen["verdict"] != "accept":
            self.warnings.append(unaccepted_warning(chosen, len(rounds)))
        delivered = self._deliver(chosen)
        self.record["delivered"] = str(delivered)
        self._save()
        document = dict(chosen["result"])
        document.update(
            path=str(delivered), all_paths=[str(delivered)], model=chosen["model"],
            sidecar=str(delivered) + ".json" if Path(str(delivered) + ".json").exists() else None,
            score=chosen["score"], verdict=chosen["verdict"], critique=chosen["critique"],
            review_file=chosen.get("review_file"), chosen_round=chosen["round"],
            stop_reason=self.record["stop_reason"], rounds=[loop_rounds.round_view(e) for e in rounds],
            cost_usd=self.total_spent(), loop_file=str(self.record_path),
            review_provider=self.provider, review_model=self.review_model,
            warnings=self.warnings + [w for w in self.paid.warnings if w not in self.warnings],
        )
        document.pop("image_count", None)
        document["image_count"] = 1
        return document



def unaccepted_warning(chosen: dict[str, Any], rounds: int) -> str:
    """The warning a loop's image carries when no round was accepted: the best of the rest is delivered."""
    score = "blank" if chosen.get("score") is None else f"{chosen['score']}/10"
    return (f"no round was accepted: round {chosen['round']} of {rounds} is delivered with verdict "
            f"{chosen['verdict']} ({score}); look at it before using it")


def run_request(request: GenerateRequest, paid: PaidRun, fields: dict[str, Any], *, job_id: str | None = None,
                resumable: bool = False, extra_result: dict[str, Any] | None = None) -> dict[str, Any]:
    """The whole loop from its request: what generate.py --review prints (or, dry, what it would send).
    A queue job passes its ``job_id`` and ``resumable``: the loop's record then resumes a killed attempt."""
    fields["model"] = request.model
    return Loop(request, paid, job_id=job_id, resumable=resumable, extra_result=extra_result).run(fields)
