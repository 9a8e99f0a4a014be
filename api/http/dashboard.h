#pragma once

// The operator dashboard page (api/http/dashboard.html), compiled into the binary so the node
// serves it with no files beside it. Self-contained: inline script and styles, charts drawn as
// SVG, data from /api/stats on the same port.

#include <string_view>

namespace idnode::http {

extern const std::string_view kDashboardHtml;

}  // namespace idnode::http
