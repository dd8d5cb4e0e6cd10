// worldflux-nb explorer, page host: the same front end (explorer.js) drawn from the state a saved record
// embeds as inert JSON, where no widget manager runs (trusted JupyterLab/Notebook without a kernel, stock
// nbconvert HTML, `notebook html`). render/explorer_record.py wraps this after explorer.js in one classic
// script, so `render` is in scope. Until it runs (or where scripts do not), the static view shows.
// It loads nothing. LOCAL_PRIVATE.
function hostExplorers(render, script) {
  // The record holding this script; a host that re-creates scripts elsewhere (VS Code appends a copy to
  // the output's container) still finds the records in that container.
  var scope = script && script.parentElement;
  var own = scope && scope.closest(".worldflux-nb-explorer-record");
  var records = own ? [own] : scope ? Array.prototype.slice.call(
    scope.querySelectorAll(".worldflux-nb-explorer-record")) : [];
  records.forEach(function (record) {
    if (record.dataset.wfnbHosted) return;
    var staticView = record.querySelector(":scope > .worldflux-nb-explorer");
    var embedded = record.querySelector(":scope > script.wfnb-explorer-state");
    if (!staticView || !embedded) return;
    var saved;
    try {
      saved = JSON.parse(embedded.textContent);
    } catch (error) {
      return; // unreadable: the static view stays
    }
    var state = { data: saved.data, filters: saved.filters || {}, selected: saved.selected || "",
                  search: saved.search || "" };
    var listeners = {};
    // What explorer.js uses of an anywidget model; changes stay in the page (there is no kernel).
    var model = {
      get: function (key) { return state[key]; },
      set: function (key, value) {
        state[key] = value;
        (listeners["change:" + key] || []).slice().forEach(function (listener) { listener(); });
      },
      save_changes: function () {},
      on: function (event, listener) { (listeners[event] = listeners[event] || []).push(listener); },
      off: function (event, listener) {
        listeners[event] = (listeners[event] || []).filter(function (other) { return other !== listener; });
      },
    };
    var el = document.createElement("div");
    try {
      render({ model: model, el: el });
    } catch (error) {
      return; // the static view stays rather than half an explorer
    }
    record.dataset.wfnbHosted = "1";
    staticView.replaceWith(el);
  });
}
