"""Reports of a ``tidings check`` run: terminal text, JSON, JUnit XML and Markdown.

One :class:`Report` value, four pure formatters. The terminal text lists
every link that needs attention as ``path:line: class: url — message`` (so
editors' tools can jump to it) and ends with a summary table; JSON is for
scripts, JUnit for CI test tabs, Markdown for a pull-request comment.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field

from .errors import SourcePos
from .linkstatus import CLASSES, EXCLUDED, FAILING, OK, REDIRECTED, WARNING, LinkStatus
from .lint import ERROR, Finding

__all__ = ["FORMATS", "Report", "format_json", "format_junit", "format_markdown", "format_text"]


@dataclass(slots=True)
class Report:
    scope: str
    results: list[tuple[LinkStatus, list[SourcePos]]] = field(default_factory=list)  # first-seen order
    findings: list[Finding] = field(default_factory=list)
    offline: bool = False
    seconds: float = 0.0
    requests: int = 0
    notes: list[str] = field(default_factory=list)  # e.g. what --fix and --all wrote

    @property
    def counts(self) -> Counter[str]:
        return Counter(status.kind for status, _ in self.results)

    @property
    def lint_errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == ERROR)

    @property
    def lint_warnings(self) -> int:
        return len(self.findings) - self.lint_errors

    @property
    def failed(self) -> bool:
        return self.lint_errors > 0 or any(status.failed for status, _ in self.results)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def headline(self) -> str:
        counts = self.counts
        bad = sum(counts[k] for k in FAILING)
        warn = sum(counts[k] for k in WARNING)
        cached = sum(1 for status, _ in self.results if status.cached)
        lint = f"lint: {self.lint_errors} errors, {self.lint_warnings} warnings"
        if self.offline:
            return f"offline lint of {self.scope}: {lint}"
        where = f"{len(self.results)} links in {self.scope}; {cached} reused from earlier runs, {self.requests} requests, {self.seconds:.1f} s"
        return f"{where}: {bad} failing, {warn} warnings; {lint}"


def _where(places: list[SourcePos]) -> str:
    first = str(places[0]) if places else "?"
    return first + (f" (+{len(places) - 1} more)" if len(places) > 1 else "")


def _line(status: LinkStatus) -> str:
    if status.suggestion:
        return f"{status.message} (run with --fix to update the link)"
    return status.message


def format_text(report: Report, *, verbose: bool = False) -> str:
    out: list[str] = []
    order = {kind: i for i, kind in enumerate(CLASSES)}
    shown = [(s, p) for s, p in report.results if verbose or s.kind not in (OK, EXCLUDED)]
    shown.sort(key=lambda sp: (order.get(sp[0].kind, 99), str(sp[1][0]) if sp[1] else ""))
    for status, places in shown:
        out.append(f"{_where(places)}: {status.kind}: {status.url} — {_line(status)}")
    for finding in report.findings:
        out.append(f"{finding}: {finding.url}")
    if not report.offline:
        out.append("")
        out.append(f"  {'class':<18}{'links':>6}")
        counts = report.counts
        for kind in CLASSES:
            if counts[kind]:
                out.append(f"  {kind:<18}{counts[kind]:>6}")
    out.extend(report.notes)
    out.append(report.headline())
    return "\n".join(out) + "\n"


def _status_dict(status: LinkStatus, places: list[SourcePos]) -> dict[str, object]:
    return {
        "url": status.url,
        "class": status.kind,
        "message": status.message,
        "code": status.code,
        "final_url": status.final_url or None,
        "suggestion": status.suggestion or None,
        "redirects": [{"status": code, "location": url} for code, url in status.redirects],
        "cached": status.cached,
        "consecutive_failures": status.failures,
        "places": [{"path": p.path, "line": p.line} for p in places],
    }


def format_json(report: Report) -> str:
    data = {
        "scope": report.scope,
        "offline": report.offline,
        "exit_code": report.exit_code,
        "summary": {kind: report.counts[kind] for kind in CLASSES} | {"lint_errors": report.lint_errors},
        "seconds": round(report.seconds, 3),
        "requests": report.requests,
        "links": [_status_dict(s, p) for s, p in report.results],
        "lint": [
            {"path": f.pos.path, "line": f.pos.line, "severity": f.severity, "message": f.message, "url": f.url}
            for f in report.findings
        ],
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def format_junit(report: Report) -> str:
    suites = ET.Element("testsuites", name="tidings check")
    links = ET.SubElement(suites, "testsuite", name=f"links in {report.scope}")
    fails = skipped = 0
    for status, places in report.results:
        case = ET.SubElement(links, "testcase", classname=places[0].path if places else "links", name=status.url, time=f"{status.elapsed:.3f}")
        where = ", ".join(str(p) for p in places)
        if status.failed:
            fails += 1
            ET.SubElement(case, "failure", type=status.kind, message=status.message).text = where
        elif status.kind == EXCLUDED:
            skipped += 1
            ET.SubElement(case, "skipped", message=status.message)
        elif status.kind in WARNING or status.kind == REDIRECTED:
            ET.SubElement(case, "system-out").text = f"{status.kind}: {_line(status)} ({where})"
    links.set("tests", str(len(report.results)))
    links.set("failures", str(fails))
    links.set("skipped", str(skipped))
    lint = ET.SubElement(suites, "testsuite", name="link lint", tests=str(len(report.findings)), failures=str(report.lint_errors))
    for finding in report.findings:
        case = ET.SubElement(lint, "testcase", classname=finding.pos.path, name=f"line {finding.pos.line}: {finding.url}")
        if finding.severity == ERROR:
            ET.SubElement(case, "failure", type="lint", message=finding.message).text = str(finding.pos)
        else:
            ET.SubElement(case, "system-out").text = f"warning: {finding.message}"
    suites.set("tests", str(len(report.results) + len(report.findings)))
    suites.set("failures", str(fails + report.lint_errors))
    suites.set("time", f"{report.seconds:.3f}")
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_markdown(report: Report) -> str:
    counts = report.counts
    bad = sum(counts[k] for k in FAILING) + report.lint_errors
    icon = "❌" if bad else "✅"
    out = [f"### {icon} Link check of {report.scope}", "", report.headline(), ""]
    attention = [(s, p) for s, p in report.results if s.kind not in (OK, EXCLUDED)]
    if attention:
        out += ["| Result | Link | Where | Details |", "| --- | --- | --- | --- |"]
        for status, places in sorted(attention, key=lambda sp: (not sp[0].failed, sp[0].kind)):
            mark = "❌" if status.failed else ("↪️" if status.kind == REDIRECTED else "⚠️")
            out.append(f"| {mark} {status.kind} | <{_cell(status.url)}> | `{_cell(_where(places))}` | {_cell(_line(status))} |")
        out.append("")
    if report.findings:
        out += ["**Lint**", ""]
        for f in report.findings:
            out.append(f"- {'❌' if f.severity == ERROR else '⚠️'} `{f.pos}` {_cell(f.message)}: <{_cell(f.url)}>")
        out.append("")
    if not attention and not report.findings:
        out += ["Every link is fine.", ""]
    return "\n".join(out)


FORMATS = {"text": format_text, "json": format_json, "junit": format_junit, "markdown": format_markdown}
