// Cầu Nối: the pages work without this file; htmx does the rest. Keep htmx from swapping in
// a whole error page where a fragment was expected: show it as a page instead.
document.addEventListener("htmx:responseError", function (event) {
  var xhr = event.detail.xhr;
  if (xhr && xhr.responseText) { document.open(); document.write(xhr.responseText); document.close(); }
});
