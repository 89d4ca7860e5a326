#include "runtime/s3_xml.h"

#include <charconv>
#include <functional>

#include "common/text.h"

namespace sluice::runtime::s3 {

namespace {

// Calls `on_text(path, text)` for every element that holds text and no child element, with
// `path` the names of the elements from the root down ("ListBucketResult/Contents/Key") and
// `text` unescaped.
Status WalkXml(std::string_view xml,
               const std::function<void(std::string_view path, std::string text)>& on_text) {
  std::vector<size_t> starts;  // where each open element's name begins in `path`
  std::string path;
  std::string text;
  bool has_child = false;  // the innermost open element has a child element
  size_t i = 0;
  auto bad = [&](std::string_view what) {
    return Status::Io("malformed XML response ({} at byte {})", what, i);
  };
  auto strip_prefix = [](std::string_view name) {
    size_t colon = name.find(':');
    return colon == std::string_view::npos ? name : name.substr(colon + 1);
  };
  while (i < xml.size()) {
    if (xml[i] != '<') {
      size_t end = xml.find('<', i);
      if (end == std::string_view::npos) end = xml.size();
      if (!starts.empty()) {
        SLUICE_ASSIGN_OR_RETURN(std::string part, XmlUnescape(xml.substr(i, end - i)));
        text += part;
      }
      i = end;
      continue;
    }
    std::string_view rest = xml.substr(i);
    if (rest.starts_with("<?")) {  // the XML declaration, processing instructions
      size_t end = xml.find("?>", i);
      if (end == std::string_view::npos) return bad("unterminated <?");
      i = end + 2;
    } else if (rest.starts_with("<!--")) {
      size_t end = xml.find("-->", i);
      if (end == std::string_view::npos) return bad("unterminated comment");
      i = end + 3;
    } else if (rest.starts_with("<![CDATA[")) {
      size_t end = xml.find("]]>", i);
      if (end == std::string_view::npos) return bad("unterminated CDATA");
      if (!starts.empty()) text += xml.substr(i + 9, end - i - 9);
      i = end + 3;
    } else if (rest.starts_with("<!")) {  // a DOCTYPE without an internal subset
      size_t end = xml.find('>', i);
      if (end == std::string_view::npos) return bad("unterminated <!");
      i = end + 1;
    } else if (rest.starts_with("</")) {
      size_t end = xml.find('>', i);
      if (end == std::string_view::npos) return bad("unterminated end tag");
      std::string_view name = strip_prefix(TrimAsciiSpace(xml.substr(i + 2, end - i - 2)));
      if (starts.empty() || std::string_view(path).substr(starts.back()) != name) {
        return bad("mismatched end tag");
      }
      if (!has_child) on_text(path, std::move(text));
      text.clear();
      path.resize(starts.back() == 0 ? 0 : starts.back() - 1);
      starts.pop_back();
      has_child = true;  // the parent has this element as a child
      i = end + 1;
    } else {
      // A start tag; attribute values may hold '>' only when quoted.
      size_t j = i + 1;
      char quote = 0;
      while (j < xml.size() && (quote != 0 || xml[j] != '>')) {
        if (quote != 0 && xml[j] == quote) {
          quote = 0;
        } else if (quote == 0 && (xml[j] == '"' || xml[j] == '\'')) {
          quote = xml[j];
        }
        ++j;
      }
      if (j >= xml.size()) return bad("unterminated start tag");
      bool empty_element = xml[j - 1] == '/';
      std::string_view inner = xml.substr(i + 1, j - i - 1 - (empty_element ? 1 : 0));
      size_t name_end = 0;
      while (name_end < inner.size() && inner[name_end] != ' ' && inner[name_end] != '\t' &&
             inner[name_end] != '\n' && inner[name_end] != '\r') {
        ++name_end;
      }
      std::string_view name = strip_prefix(inner.substr(0, name_end));
      if (name.empty()) return bad("empty element name");
      if (empty_element) {
        std::string child = path.empty() ? std::string(name) : path + "/" + std::string(name);
        on_text(child, std::string());
      } else {
        if (!path.empty()) path.push_back('/');
        starts.push_back(path.size());
        path += name;
        text.clear();
      }
      has_child = empty_element;
      i = j + 1;
    }
  }
  if (!starts.empty()) return bad("unclosed element");
  return Status::Ok();
}

}  // namespace

Result<std::string> XmlUnescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t amp = text.find('&', i);
    if (amp == std::string_view::npos) {
      out += text.substr(i);
      break;
    }
    out += text.substr(i, amp - i);
    size_t semi = text.find(';', amp);
    if (semi == std::string_view::npos || semi - amp > 12) {
      return Status::Io("malformed XML response (bad entity reference '{}')",
                        text.substr(amp, std::min<size_t>(12, text.size() - amp)));
    }
    std::string_view ref = text.substr(amp + 1, semi - amp - 1);
    if (ref == "amp") {
      out.push_back('&');
    } else if (ref == "lt") {
      out.push_back('<');
    } else if (ref == "gt") {
      out.push_back('>');
    } else if (ref == "quot") {
      out.push_back('"');
    } else if (ref == "apos") {
      out.push_back('\'');
    } else if (ref.size() >= 2 && ref[0] == '#') {
      bool hex = ref[1] == 'x' || ref[1] == 'X';
      std::string_view digits = ref.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      auto [p, ec] =
          std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (digits.empty() || ec != std::errc() || p != digits.data() + digits.size() ||
          cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return Status::Io("malformed XML response (bad character reference '&{};')", ref);
      }
      AppendUtf8(cp, &out);
    } else {
      return Status::Io("malformed XML response (unknown entity '&{};')", ref);
    }
    i = semi + 1;
  }
  return out;
}

Result<ListPage> ParseListObjectsV2(std::string_view xml) {
  ListPage page;
  bool is_list = false;
  SLUICE_RETURN_NOT_OK(WalkXml(xml, [&](std::string_view path, std::string text) {
    if (!path.starts_with("ListBucketResult")) return;
    is_list = true;
    if (path == "ListBucketResult/Contents/Key") {
      page.keys.push_back(std::move(text));
    } else if (path == "ListBucketResult/IsTruncated") {
      page.truncated = text == "true";
    } else if (path == "ListBucketResult/NextContinuationToken") {
      page.next_token = std::move(text);
    }
  }));
  if (!is_list) return Status::Io("the response is not a ListBucketResult");
  if (page.truncated && page.next_token.empty()) {
    return Status::Io("a truncated ListBucketResult has no NextContinuationToken");
  }
  return page;
}

Result<std::vector<std::pair<std::string, std::string>>> XmlTexts(std::string_view xml) {
  std::vector<std::pair<std::string, std::string>> out;
  SLUICE_RETURN_NOT_OK(WalkXml(xml, [&](std::string_view path, std::string text) {
    out.emplace_back(std::string(path), std::move(text));
  }));
  return out;
}

ErrorInfo ParseError(std::string_view xml) {
  ErrorInfo info;
  Status st = WalkXml(xml, [&](std::string_view path, std::string text) {
    if (path == "Error/Code") {
      info.code = std::move(text);
    } else if (path == "Error/Message") {
      info.message = std::move(text);
    } else if (path == "Error/Region") {
      info.region = std::move(text);
    }
  });
  if (!st.ok()) return {};
  return info;
}

}  // namespace sluice::runtime::s3
