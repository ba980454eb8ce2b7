// prepfloor in a browser: what the page adds to Textual's terminal script (textual.js):
// downloads of the files prepfloor hands over, the file picker it asks for, files dropped on the
// page, and the end of the session.  Loaded before textual.js, so the websocket it opens is seen.
(function () {
  "use strict";
  var instance = "";
  var picking = false;
  var Native = window.WebSocket;

  function csrf() {
    return document.querySelector('meta[name="prepfloor-csrf"]').content;
  }

  function say(text, refused) {
    var said = document.getElementById("said");
    said.textContent = text;
    said.className = refused ? "refused" : "";
  }

  function focusTerminal() {
    var area = document.querySelector(".xterm-helper-textarea");
    if (area) area.focus();
  }

  function download(url) {
    var link = document.createElement("a");
    link.href = url;
    link.download = "";
    document.body.appendChild(link);
    link.click();
    link.remove();
  }

  function upload(file, picked) {
    say(file.name + " …", false);
    return fetch("/upload", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "X-CSRF-Token": csrf(),
        "X-File-Name": encodeURIComponent(file.name),
        "X-Prepfloor-Instance": instance,
        "X-Prepfloor-Picked": picked ? "1" : "0",
        "Content-Type": "application/octet-stream"
      },
      body: file
    }).then(function (response) {
      return response.json().then(function (answer) {
        say(answer.message, !response.ok);
      }, function () {
        say(response.status + " " + response.statusText, true);
      });
    }, function (error) {
      say(String(error), true);
    });
  }

  function ended(refused) {
    var box = document.getElementById("ended");
    var text = document.getElementById("ended-text");
    if (refused) text.textContent = refused;
    box.hidden = false;
    document.getElementById("again").focus();
  }

  function heard(message) {
    var kind = message[0], data = message[1] || {};
    if (kind === "instance_id") instance = String(data);
    else if (kind === "prepfloor_download") download(data.url);
    else if (kind === "prepfloor_pick") { picking = true; document.getElementById("pick").click(); }
    else if (kind === "prepfloor_signed_out") {
      var timedOut = data.why === "idle" || data.why === "max_hours";
      window.location.assign(timedOut ? "/?said=ended" : "/?said=out");
    }
    else if (kind === "prepfloor_refused") ended(data.message || "");
  }

  function Watched(url, protocols) {
    var ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    ws.addEventListener("message", function (event) {
      if (typeof event.data === "string") {
        try { heard(JSON.parse(event.data)); } catch (error) { /* not ours */ }
      }
    });
    ws.addEventListener("close", function () { ended(""); });
    return ws;
  }
  Watched.prototype = Native.prototype;
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (name) { Watched[name] = Native[name]; });
  window.WebSocket = Watched;

  document.addEventListener("DOMContentLoaded", function () {
    var terminal = document.getElementById("terminal");
    var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    terminal.dataset.sessionWebsocketUrl = scheme + "//" + window.location.host + "/ws";
    var pick = document.getElementById("pick");
    pick.addEventListener("change", function () {
      var picked = picking;
      picking = false;
      var files = Array.prototype.slice.call(pick.files || []);
      pick.value = "";
      files.reduce(function (done, file) {
        return done.then(function () { return upload(file, picked); });
      }, Promise.resolve()).then(focusTerminal);
    });
    pick.addEventListener("cancel", function () { picking = false; focusTerminal(); });
    document.getElementById("upload").addEventListener("click", function () {
      picking = false;
      pick.click();
    });
    document.getElementById("again").addEventListener("click", function () {
      window.location.reload();
    });
    var drop = document.getElementById("drop");
    var depth = 0;
    document.addEventListener("dragenter", function (event) {
      event.preventDefault();
      depth += 1;
      drop.hidden = false;
    });
    document.addEventListener("dragleave", function () {
      depth = Math.max(0, depth - 1);
      if (!depth) drop.hidden = true;
    });
    document.addEventListener("dragover", function (event) { event.preventDefault(); });
    document.addEventListener("drop", function (event) {
      event.preventDefault();
      depth = 0;
      drop.hidden = true;
      var files = Array.prototype.slice.call((event.dataTransfer && event.dataTransfer.files) || []);
      files.reduce(function (done, file) {
        return done.then(function () { return upload(file, false); });
      }, Promise.resolve()).then(focusTerminal);
    });
  });
})();
