/* The annotate page: keyboard shortcuts, ranking, the rewrite diff, autosave (with a local copy)
   and the active-time heartbeat. Plain JS without a build step. Model and expert text reaches the
   DOM only through textContent and form values (never innerHTML): the server already rendered
   the answers through the sanitiser. */
(function () {
  "use strict";

  var form = document.getElementById("judgement");
  if (!form) { return; }

  var SAVE_EVERY_MS = 3000;
  var HEARTBEAT_EVERY_MS = 15000;
  var IDLE_AFTER_MS = 120000;
  var KEEPALIVE_LIMIT = 60000;   // fetch keepalive bodies are capped at 64 KiB
  var DIFF_CELL_LIMIT = 4000000; // word-level LCS table size before the diff gives up on detail

  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.content : "";
  var isRanking = form.dataset.kind === "ranking";
  var panes = Array.prototype.slice.call(form.querySelectorAll(".an-answer")); // the answers, in display order
  var rewrite = document.getElementById("rewrite");
  var rewriteSource = document.getElementById("rewrite-source");
  var savedLabel = document.getElementById("an-saved");
  var activeLabel = document.getElementById("an-active");
  var selected = isRanking ? 0 : -1;
  var submitting = form.dataset.editable === "0"; // a submitted judgement: nothing to save or time

  function $(id) { return document.getElementById(id); }
  function paneByCid(cid) { return panes.filter(function (p) { return p.dataset.cid === String(cid); })[0]; }
  function rawText(pane) { return pane.querySelector(".an-raw").textContent; }
  function rankSelect(pane) { return pane.querySelector(".an-rank-select"); }
  function partsOf(pane) { return form.querySelectorAll('[data-answer="' + pane.dataset.label + '"]'); } // rubric cells, critique
  function critiqueOf(pane) { return $("critique-" + pane.dataset.cid); }
  function scoreGroupsOf(pane) {
    return Array.prototype.slice.call(form.querySelectorAll('td[data-answer="' + pane.dataset.label + '"] .an-criterion'));
  }
  function fire(el) { el.dispatchEvent(new Event("change", { bubbles: true })); }

  // --- the judgement as JSON (the body of PUT /api/v1/assignments/<id>/draft) ---------------

  function checkedValue(name) {
    var input = form.querySelector('input[name="' + name + '"]:checked');
    return input ? Number(input.value) : null;
  }

  function collect() {
    var data = {
      preference: isRanking ? null : checkedValue("preference"), ranking: null,
      confidence: checkedValue("confidence"), scores: {}, critiques: {},
      rewrite: rewrite.value === "" ? null : rewrite.value,
      rewrite_source_id: Number(rewriteSource.value) || null, flags: []
    };
    panes.forEach(function (pane) {
      var cid = pane.dataset.cid;
      var prefix = "score-" + cid + "-";
      if (isRanking && rankSelect(pane).value) {
        data.ranking = data.ranking || {};
        data.ranking[cid] = Number(rankSelect(pane).value);
      }
      scoreGroupsOf(pane).forEach(function (group) {
        var input = group.querySelector("input:checked");
        if (input && input.name.indexOf(prefix) === 0) {
          data.scores[cid] = data.scores[cid] || {};
          data.scores[cid][input.name.slice(prefix.length)] = Number(input.value);
        }
      });
      var critique = critiqueOf(pane).value;
      if (critique !== "") { data.critiques[cid] = critique; }
    });
    form.querySelectorAll('input[name="flags"]:checked').forEach(function (input) { data.flags.push(input.value); });
    return data;
  }

  // --- autosave ---------------------------------------------------------------------------

  var lastSaved = form.dataset.dirty === "1" ? "" : JSON.stringify(collect());
  var savedText = savedLabel.textContent;
  var saving = false;
  var saveStopped = false;
  var saveProblem = false;
  var refusedBody = null; // a draft the server refused (422) is not sent again until it changes

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(date) { return pad(date.getHours()) + ":" + pad(date.getMinutes()) + ":" + pad(date.getSeconds()); }

  function showSaved(text, isProblem) {
    savedLabel.textContent = text;
    savedLabel.classList.toggle("an-problem", !!isProblem);
  }

  function refreshSavedLabel() {
    // "Saved hh:mm:ss" only while the page matches what the server holds.
    if (saveProblem) { return; }
    if (JSON.stringify(collect()) === lastSaved) { showSaved(savedText); } else { showSaved("Unsaved changes"); }
  }

  function errorText(response) {
    return response.json().then(function (body) {
      var error = body && body.error ? body.error : {};
      var fields = error.details && error.details.fields ? error.details.fields : {};
      var parts = Object.keys(fields).map(function (k) { return fields[k]; });
      return (error.message || "The server refused the draft.") + (parts.length ? " " + parts.join(" ") : "");
    }).catch(function () { return "The server answered " + response.status + "."; });
  }

  function saveDraft(leaving) {
    if (submitting || saveStopped) { return; }
    var body = JSON.stringify(collect());
    if (body === lastSaved || body === refusedBody || (saving && !leaving)) { return; }
    var sentEdit = edits;
    saving = true;
    fetch(form.dataset.draftUrl, {
      method: "PUT", credentials: "same-origin", body: body,
      keepalive: !!leaving && new TextEncoder().encode(body).length < KEEPALIVE_LIMIT,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" }
    }).then(function (response) {
      if (response.ok) {
        return response.json().then(function (saved) {
          lastSaved = body;
          saveProblem = false;
          savedText = "Saved " + clock(new Date());
          refreshSavedLabel();
          confirmLocal(sentEdit, saved.updated_at);
        });
      }
      if (response.status === 401 || response.status === 403 || response.status === 409) { saveStopped = true; }
      if (response.status === 422) { refusedBody = body; }
      return errorText(response).then(function (text) { saveProblem = true; showSaved("Not saved: " + text, true); });
    }).catch(function () {
      saveProblem = true;
      showSaved("Not saved (offline?) — retrying", true);
    }).then(function () { saving = false; });
  }

  setInterval(saveDraft, SAVE_EVERY_MS);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { saveDraft(true); }
  });
  window.addEventListener("pagehide", function () { saveDraft(true); });

  // --- the local copy: edits the server has not confirmed survive a reload or a closed tab ---
  // Each change writes the draft to localStorage; a confirmed save of that edit removes it. The
  // copy records the server draft it was made on ("base", an updated_at), so on load it wins when
  // the server draft is still that one (whatever the clocks say) or older than the copy.

  var localKey = "rlhf-app:draft:" + form.dataset.assignmentId;
  var serverVersion = form.dataset.savedAt; // updated_at of the server's draft, as this page last knew it
  var localCopy = readLocal(localKey);
  var edits = localCopy && localCopy.edit || 0; // counts changes, so a save's answer can tell which one it holds

  function readLocal(key) {
    try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; }
  }

  function writeLocal(copy) {
    try {
      if (copy) { localStorage.setItem(localKey, JSON.stringify(copy)); } else { localStorage.removeItem(localKey); }
    } catch (e) { /* storage full or turned off: the autosave still runs */ }
  }

  function keepLocal() {
    if (submitting) { return; }
    var data = collect();
    if (JSON.stringify(data) === lastSaved) { writeLocal(null); return; }
    edits += 1;
    writeLocal({ data: data, edit: edits, time: Date.now(), base: serverVersion });
  }

  function confirmLocal(sentEdit, updatedAt) {
    serverVersion = updatedAt;
    var copy = readLocal(localKey);
    if (copy && copy.edit === sentEdit) { writeLocal(null); return; }
    if (copy) { copy.base = updatedAt; writeLocal(copy); } // later edits, on top of what the server has now
  }

  function timeOf(iso) { return Date.parse((iso || "").replace(/(\.\d{3})\d+/, "$1")) || 0; } // µs -> ms

  function restoreLocal() {
    var copy = localCopy;
    if (form.dataset.dirty === "1") { keepLocal(); return; } // the page shows a refused submission: newest of all
    if (!copy || !copy.data) { return; }
    var newer = copy.base === serverVersion || copy.time > timeOf(serverVersion);
    if (form.dataset.editable !== "1" || !newer) { writeLocal(null); return; }
    fill(copy.data);
    $("an-restored").hidden = false;
    refreshSavedLabel();
    saveDraft(false);
  }

  function fill(data) {
    // The form as the copy holds it (the inverse of collect()); values and textContent only.
    function check(name, values) {
      form.querySelectorAll('input[name="' + name + '"]').forEach(function (input) {
        input.checked = values.indexOf(input.value) >= 0;
      });
    }
    check("preference", [String(data.preference)]);
    check("confidence", [String(data.confidence)]);
    check("flags", data.flags || []);
    panes.forEach(function (pane) {
      var cid = pane.dataset.cid, scores = (data.scores || {})[cid] || {};
      if (isRanking) { rankSelect(pane).value = String((data.ranking || {})[cid] || ""); }
      scoreGroupsOf(pane).forEach(function (group) {
        check("score-" + cid + "-" + group.dataset.key, [String(scores[group.dataset.key])]);
        var picked = group.querySelector("input:checked");
        if (picked) { showChosenLevel(picked); } else { group.querySelector(".an-chosen").textContent = ""; }
      });
      critiqueOf(pane).value = (data.critiques || {})[cid] || "";
    });
    rewrite.value = data.rewrite || "";
    if (paneByCid(data.rewrite_source_id)) { rewriteSource.value = data.rewrite_source_id; }
    $("an-rewrite-from").textContent = $("an-diff-from").textContent = sourcePane().dataset.label;
    if (isRanking) { $("an-ranking-summary").textContent = rankingSummary(); }
  }

  function forgetSubmitted() {
    // A copy marked on submit belongs to a finished task once another task's page opens.
    try {
      Object.keys(localStorage).forEach(function (key) {
        var copy = key.indexOf("rlhf-app:draft:") === 0 && key !== localKey && readLocal(key);
        if (copy && copy.submitted) { localStorage.removeItem(key); }
      });
    } catch (e) { /* storage turned off */ }
  }

  // --- active time: heartbeat while visible and in use ------------------------------------

  var activeSeconds = Number(form.dataset.activeSeconds) || 0;
  var lastInput = Date.now();

  function isActive() {
    return document.visibilityState === "visible" && Date.now() - lastInput < IDLE_AFTER_MS;
  }

  function showActive() {
    var s = Math.max(0, Math.floor(activeSeconds));
    activeLabel.textContent = Math.floor(s / 3600) + ":" + pad(Math.floor(s % 3600 / 60)) + ":" + pad(s % 60);
    activeLabel.parentNode.classList.toggle("an-idle", !isActive());
  }

  function heartbeat() {
    if (!isActive() || submitting) { return; }
    fetch(form.dataset.heartbeatUrl, {
      method: "POST", credentials: "same-origin", body: JSON.stringify({ focused: document.hasFocus() }),
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" }
    }).then(function (response) { return response.ok ? response.json() : null; }).then(function (body) {
      if (body && typeof body.active_seconds === "number") { activeSeconds = body.active_seconds; showActive(); }
    }).catch(function () { /* the next beat tries again; the clock keeps running locally */ });
  }

  ["keydown", "pointerdown", "mousemove", "wheel", "input", "touchstart"].forEach(function (type) {
    document.addEventListener(type, function () { lastInput = Date.now(); }, { capture: true, passive: true });
  });
  document.addEventListener("scroll", function () { lastInput = Date.now(); }, { capture: true, passive: true });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { lastInput = Date.now(); heartbeat(); }
  });
  setInterval(function () { if (isActive()) { activeSeconds += 1; } showActive(); }, 1000);
  setInterval(heartbeat, HEARTBEAT_EVERY_MS);
  heartbeat();

  // --- ranking ----------------------------------------------------------------------------

  function rankingSummary() {
    var ranked = panes.filter(function (p) { return rankSelect(p).value; }).sort(function (a, b) {
      return Number(rankSelect(a).value) - Number(rankSelect(b).value) || panes.indexOf(a) - panes.indexOf(b);
    });
    var text = "";
    ranked.forEach(function (pane, i) {
      var sameAsPrevious = i > 0 && rankSelect(ranked[i - 1]).value === rankSelect(pane).value;
      text += (i === 0 ? "" : sameAsPrevious ? " = " : " > ") + pane.dataset.label;
    });
    var unranked = panes.filter(function (p) { return !rankSelect(p).value; }).map(function (p) { return p.dataset.label; });
    if (!ranked.length) { return "nothing ranked yet"; }
    return unranked.length ? text + "; unranked: " + unranked.join(", ") : text;
  }

  function setRank(pane, rank) {
    var select = rankSelect(pane);
    var value = rank >= 1 && rank <= panes.length ? String(rank) : "";
    if (rank !== 0 && value === "") { return; }
    select.value = value;
    fire(select);
  }

  function nudgeRank(pane, delta) {
    var current = Number(rankSelect(pane).value) || (delta < 0 ? panes.length + 1 : 0);
    setRank(pane, Math.min(panes.length, Math.max(1, current + delta)));
  }

  // --- the preferred answer and the rewrite -----------------------------------------------

  function preferredPane() {
    if (!isRanking) {
      var preference = checkedValue("preference");
      return preference > 0 ? panes[1] : panes[0];
    }
    var ranked = panes.filter(function (p) { return rankSelect(p).value; });
    ranked.sort(function (a, b) { return Number(rankSelect(a).value) - Number(rankSelect(b).value); });
    return ranked[0] || panes[0];
  }

  function sourcePane() { return paneByCid(rewriteSource.value) || panes[0]; }
  function rewriteUntouched() { return rewrite.value === rawText(sourcePane()) || rewrite.value === ""; }

  function startRewriteFrom(pane, ask) {
    if (ask && !rewriteUntouched() && pane !== sourcePane() &&
        !window.confirm("Replace your rewrite with the text of answer " + pane.dataset.label + "?")) { return; }
    rewrite.value = rawText(pane);
    rewriteSource.value = pane.dataset.cid;
    $("an-rewrite-from").textContent = pane.dataset.label;
    $("an-diff-from").textContent = pane.dataset.label;
    updateDiff();
    changed();
  }

  function followPreference() {
    // An untouched editor follows the preferred answer; an edited one stays where the expert left it.
    if (rewriteUntouched() && preferredPane() !== sourcePane()) { startRewriteFrom(preferredPane(), false); }
  }

  // --- word-level diff (LCS), rendered with textContent ------------------------------------

  function tokens(text) { return text.match(/\s+|[^\s]+/g) || []; }

  function lcsOps(a, b) {
    var start = 0, endA = a.length, endB = b.length;
    while (start < endA && start < endB && a[start] === b[start]) { start++; }
    while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
    var ops = [];
    if (start > 0) { ops.push(["eq", a.slice(0, start).join("")]); }
    var midA = a.slice(start, endA), midB = b.slice(start, endB);
    middleOps(midA, midB).forEach(function (op) { ops.push(op); });
    if (endA < a.length) { ops.push(["eq", a.slice(endA).join("")]); }
    return ops;
  }

  function middleOps(a, b) {
    var n = a.length, m = b.length;
    if (!n || !m || (n + 1) * (m + 1) > DIFF_CELL_LIMIT) {
      return [["del", a.join("")], ["ins", b.join("")]].filter(function (op) { return op[1]; });
    }
    var width = m + 1, table = new Uint32Array((n + 1) * width);
    for (var i = n - 1; i >= 0; i--) {
      for (var j = m - 1; j >= 0; j--) {
        table[i * width + j] = a[i] === b[j] ? table[(i + 1) * width + j + 1] + 1
          : Math.max(table[(i + 1) * width + j], table[i * width + j + 1]);
      }
    }
    var ops = [], x = 0, y = 0;
    function push(kind, text) {
      var last = ops[ops.length - 1];
      if (last && last[0] === kind) { last[1] += text; } else { ops.push([kind, text]); }
    }
    while (x < n && y < m) {
      if (a[x] === b[y]) { push("eq", a[x]); x++; y++; }
      else if (table[(x + 1) * width + y] >= table[x * width + y + 1]) { push("del", a[x]); x++; }
      else { push("ins", b[y]); y++; }
    }
    while (x < n) { push("del", a[x++]); }
    while (y < m) { push("ins", b[y++]); }
    return ops;
  }

  function countWords(text) { return (text.match(/[^\s]+/g) || []).length; }

  function updateDiff() {
    var ops = lcsOps(tokens(rawText(sourcePane())), tokens(rewrite.value));
    var box = $("an-diff"), added = 0, removed = 0;
    var fragment = document.createDocumentFragment();
    ops.forEach(function (op) {
      var el = document.createElement(op[0] === "eq" ? "span" : op[0]);
      el.textContent = op[1];
      fragment.appendChild(el);
      if (op[0] === "ins") { added += countWords(op[1]); }
      if (op[0] === "del") { removed += countWords(op[1]); }
    });
    box.replaceChildren(fragment);
    $("an-diff-stats").textContent = added || removed ? "+" + added + " / −" + removed + " words" : "(no changes yet)";
    var changes = box.querySelectorAll("ins, del");
    if (changes.length) { // keep the latest change in view, as the expert types at it
      var last = changes[changes.length - 1];
      box.scrollTop = Math.max(0, last.offsetTop - box.clientHeight / 2);
    }
  }

  var diffTimer = null;
  rewrite.addEventListener("input", function () {
    clearTimeout(diffTimer);
    diffTimer = setTimeout(updateDiff, 150);
  });

  // --- selection and focus ----------------------------------------------------------------

  function select(index, reveal) {
    selected = index;
    panes.forEach(function (pane, i) {
      pane.setAttribute("aria-current", i === index ? "true" : "false");
      [pane].concat(Array.prototype.slice.call(partsOf(pane))).forEach(function (part) {
        part.classList.toggle("is-selected", i === index);
      });
    });
    if (reveal && index >= 0) { panes[index].scrollIntoView({ block: "nearest", inline: "nearest" }); }
  }

  function selectedPane() { return selected >= 0 ? panes[selected] : preferredPane(); }

  function showChosenLevel(input) {
    // Under the level buttons, the chosen level's description (the label reads "4: description").
    var note = input.closest(".an-criterion").querySelector(".an-chosen");
    var label = input.getAttribute("aria-label") || "";
    note.textContent = label.slice(label.indexOf(":") + 1).trim();
  }

  function focusGroup(group) {
    (group.querySelector("input:checked") || group.querySelector("input")).focus();
  }

  function focusScores(pane) {
    var groups = scoreGroupsOf(pane);
    var open = groups.filter(function (g) { return !g.querySelector("input:checked"); })[0];
    if (groups.length) { focusGroup(open || groups[0]); } // the first criterion still to score
  }

  function scoreFocused(el, digit) {
    // A digit on a score sets that level, then moves to the same answer's next criterion.
    var picked = setRadio(el.name, digit);
    if (!picked) { return; }
    var group = picked.closest(".an-criterion");
    var label = picked.closest("[data-answer]").dataset.answer;
    var groups = scoreGroupsOf(panes.filter(function (p) { return p.dataset.label === label; })[0]);
    var next = groups[groups.indexOf(group) + 1];
    focusGroup(next || group);
  }

  function setRadio(name, value) {
    var input = form.querySelector('input[name="' + name + '"][value="' + value + '"]');
    if (input) { input.checked = true; fire(input); }
    return input;
  }

  function toggleDetails(id, open) {
    var details = $(id);
    details.open = open === undefined ? !details.open : open;
    if (details.open) {
      var control = details.querySelector("input:checked, input:not([type=hidden]), textarea, button");
      (control || details.querySelector("summary")).focus();
    }
  }

  function closeMenus() {
    var closed = false;
    document.querySelectorAll("details.an-menu[open]").forEach(function (d) {
      d.open = false; closed = true; d.querySelector("summary").focus();
    });
    return closed;
  }

  // --- keyboard ---------------------------------------------------------------------------

  function isTyping(el) {
    if (!el) { return false; }
    if (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT") { return true; }
    return el.tagName === "INPUT" && !/^(radio|checkbox|button|submit|reset)$/.test(el.type);
  }

  function onDigit(digit) {
    var el = document.activeElement;
    if (el && el.type === "radio" && el.name.indexOf("score-") === 0) { scoreFocused(el, digit); return; }
    if (el && el.type === "radio" && el.name === "confidence") { setRadio("confidence", digit); return; }
    if (isRanking) { setRank(selectedPane(), digit); return; }
    if (digit >= 1 && digit <= 7) { setRadio("preference", digit - 4); }
  }

  var letterKeys = "abcdefghi";
  var actions = {
    "s": function () { focusScores(selectedPane()); },
    "n": function () { critiqueOf(selectedPane()).focus(); },
    "r": function () { rewrite.focus(); },
    "p": function () { startRewriteFrom(selectedPane(), true); },
    "x": function () { form.querySelector('input[name="flags"]').focus(); },
    "I": function () { toggleDetails("an-instructions"); },
    "?": function () { toggleDetails("an-help"); },
    "+": function () { if (isRanking) { nudgeRank(selectedPane(), -1); } },
    "-": function () { if (isRanking) { nudgeRank(selectedPane(), 1); } }
  };

  function onKeydown(event) {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      var owner = document.activeElement && document.activeElement.form;
      if (owner && owner !== form) { owner.requestSubmit(); } else { submitNow(); } // e.g. the skip form
      return;
    }
    if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === "KeyS") {
      event.preventDefault();
      toggleDetails("an-skip", true);
      return;
    }
    if (event.key === "Escape") { onEscape(event); return; }
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(document.activeElement)) { return; }
    if (event.shiftKey && /^Digit[1-5]$/.test(event.code)) {
      event.preventDefault();
      setRadio("confidence", event.code.slice(5));
      return;
    }
    var handled = handleKey(event.key);
    if (handled) { event.preventDefault(); }
  }

  function handleKey(key) {
    if (/^[0-9]$/.test(key)) { onDigit(Number(key)); return true; }
    var letter = letterKeys.indexOf(key);
    if (letter >= 0 && letter < panes.length) { select(letter, true); return true; }
    if (actions[key]) { actions[key](); return true; }
    return false;
  }

  function onEscape(event) {
    if (closeMenus()) { event.preventDefault(); return; }
    var el = document.activeElement;
    if (isTyping(el) || (el && el.type === "radio")) {
      event.preventDefault();
      var home = el.closest(".an-answer, [data-answer]") || el.closest("section") || form;
      if (!home.hasAttribute("tabindex")) { home.setAttribute("tabindex", "-1"); }
      home.focus({ preventScroll: true });
    }
  }

  function submitNow() {
    if (submitting) { return; }
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  document.addEventListener("keydown", onKeydown);

  // --- wiring -----------------------------------------------------------------------------

  form.addEventListener("submit", function () {
    submitting = true;
    // Disable after the browser has read the form (a disabled submitter would drop confirm=1).
    setTimeout(function () {
      document.querySelectorAll('button[type="submit"][form="judgement"], #judgement button[type="submit"]').forEach(function (b) {
        b.disabled = true;
      });
    }, 0);
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.reload(); } // back/forward cache: never show a stale form
  });

  function changed() { keepLocal(); refreshSavedLabel(); }
  document.addEventListener("submit", function () { // this form or the skip form: mark, not remove, in case it fails
    var copy = readLocal(localKey);
    if (copy) { copy.submitted = true; writeLocal(copy); }
  });
  form.addEventListener("input", changed);
  form.addEventListener("change", function (event) {
    var target = event.target;
    changed();
    if (target.name === "preference") { followPreference(); }
    if (target.name && target.name.indexOf("score-") === 0) { showChosenLevel(target); }
    if (target.classList && target.classList.contains("an-rank-select")) {
      $("an-ranking-summary").textContent = rankingSummary();
      followPreference();
    }
  });

  panes.forEach(function (pane, index) {
    [pane].concat(Array.prototype.slice.call(partsOf(pane))).forEach(function (part) {
      part.addEventListener("focusin", function () { if (selected !== index) { select(index); } });
    });
  });
  form.querySelectorAll(".an-start-from").forEach(function (button) {
    button.addEventListener("click", function () { startRewriteFrom(paneByCid(button.dataset.cid), true); });
  });

  restoreLocal();
  forgetSubmitted();
  if (isRanking) { select(0); }
  updateDiff();
  showActive();
  if (form.dataset.dirty === "1") { saveDraft(false); }
  form.dataset.ready = "1"; // the shortcuts work from now on (browser tests wait for this)
}());
