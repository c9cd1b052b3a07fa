// Generation job page: poll the job's JSON every 2 s and update the counts until it is done.
(function () {
  "use strict";
  var box = document.getElementById("job-progress");
  if (!box || box.dataset.done === "true") { return; }

  function show(job) {
    ["status", "completed", "total", "failed", "truncated"].forEach(function (name) {
      var el = box.querySelector('[data-field="' + name + '"]');
      if (el) { el.textContent = job[name]; }
    });
    ["error", "stalled"].forEach(function (name) {
      var el = box.querySelector('[data-field="' + name + '"]');
      if (el) { el.textContent = job[name] || ""; }
    });
    var bar = box.querySelector('[data-field="progress"]');
    if (bar) { bar.max = job.total || 1; bar.value = job.completed + job.failed; }
  }

  function poll() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
      .then(function (job) {
        show(job);
        if (job.is_done) { window.location.reload(); } else { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  window.setTimeout(poll, 2000);
}());
