#include "k8s/yaml.h"

#include <yaml.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <vector>

#include <fmt/format.h>

namespace sluice::k8s {
namespace json = boost::json;

namespace {

bool PlainKey(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '/' || c == '-';
    if (!ok) return false;
  }
  return key[0] != '-';
}

std::string Key(std::string_view key) {
  return PlainKey(key) ? std::string(key) : json::serialize(json::string(key));
}

// A string a literal block keeps byte for byte: printable text and newlines (no carriage
// returns or other control characters, which only the quoted form can carry).
bool LiteralBlock(std::string_view s) {
  if (s.find('\n') == std::string_view::npos) return false;
  for (unsigned char c : s) {
    if (c < 0x20 && c != '\n' && c != '\t') return false;
    if (c == 0x7f) return false;
  }
  // Leading spaces or an empty first line would need an indentation indicator: quote instead.
  return s[0] != ' ' && s[0] != '\n';
}

void Scalar(const json::value& v, int indent, std::string* out) {
  if (v.is_string()) {
    std::string_view s = v.get_string();
    if (LiteralBlock(s)) {
      size_t trailing = 0;
      while (trailing < s.size() && s[s.size() - 1 - trailing] == '\n') ++trailing;
      *out += '|';
      *out += trailing == 0 ? "-" : (trailing == 1 ? "" : "+");
      *out += '\n';
      std::string_view body = s.substr(0, s.size() - (trailing >= 1 ? 1 : 0));
      size_t start = 0;
      while (start <= body.size()) {
        size_t end = body.find('\n', start);
        if (end == std::string_view::npos) end = body.size();
        std::string_view line = body.substr(start, end - start);
        if (!line.empty()) out->append(static_cast<size_t>(indent), ' ').append(line);
        if (end == body.size()) break;
        *out += '\n';
        start = end + 1;
      }
      *out += '\n';
      return;
    }
  }
  *out += json::serialize(v);
  *out += '\n';
}

bool Collection(const json::value& v) {
  return (v.is_object() && !v.get_object().empty()) || (v.is_array() && !v.get_array().empty());
}

void Emit(const json::value& v, int indent, std::string* out);

// The value of a key or a sequence item, after "key:" or "-".
void After(const json::value& v, int indent, bool in_sequence, std::string* out) {
  if (!Collection(v)) {
    *out += ' ';
    Scalar(v, indent + 2, out);
    return;
  }
  if (v.is_object() && in_sequence) {
    // "- key: value" with the mapping's other keys under the first one.
    *out += ' ';
    std::string nested;
    Emit(v, indent + 2, &nested);
    out->append(nested, static_cast<size_t>(indent + 2), std::string::npos);
    return;
  }
  *out += '\n';
  // Sequences inside a mapping stay at the key's indentation, as kubectl writes them.
  Emit(v, v.is_array() ? indent : indent + 2, out);
}

void Emit(const json::value& v, int indent, std::string* out) {
  if (v.is_object()) {
    for (const auto& [key, value] : v.get_object()) {
      out->append(static_cast<size_t>(indent), ' ');
      *out += Key(key);
      *out += ':';
      After(value, indent, false, out);
    }
  } else if (v.is_array()) {
    for (const auto& item : v.get_array()) {
      out->append(static_cast<size_t>(indent), ' ');
      *out += '-';
      After(item, indent, true, out);
    }
  } else {
    out->append(static_cast<size_t>(indent), ' ');
    Scalar(v, indent, out);
  }
}

// --- Reading ---

struct Parser {
  yaml_parser_t parser;
  Parser() { yaml_parser_initialize(&parser); }
  ~Parser() { yaml_parser_delete(&parser); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
};

struct Event {
  yaml_event_t event{};
  bool owned = false;
  ~Event() {
    if (owned) yaml_event_delete(&event);
  }
};

json::value PlainScalar(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  std::string text(s);
  const char* begin = text.c_str();
  char* end = nullptr;
  bool digits = text.find_first_of("0123456789") != std::string::npos;
  if (digits && text.find_first_not_of("+-0123456789") == std::string::npos) {
    errno = 0;
    long long i = std::strtoll(begin, &end, 10);
    if (errno == 0 && end == begin + text.size()) return static_cast<int64_t>(i);
  }
  if (digits && text.find_first_not_of("+-0123456789.eE") == std::string::npos) {
    errno = 0;
    double d = std::strtod(begin, &end);
    if (errno == 0 && end == begin + text.size()) return d;
  }
  return json::string(s);
}

class Reader {
 public:
  Reader(yaml_parser_t* parser, std::string_view what) : parser_(parser), what_(what) {}

  Status Next(Event* e) {
    if (!yaml_parser_parse(parser_, &e->event)) {
      return Status::User("{}: not valid YAML or JSON at line {}, column {}: {}", what_,
                          parser_->problem_mark.line + 1, parser_->problem_mark.column + 1,
                          parser_->problem ? parser_->problem : "parse error");
    }
    e->owned = true;
    return Status::Ok();
  }

  Status Where(const yaml_event_t& e, std::string_view message) const {
    return Status::User("{}: line {}, column {}: {}", what_, e.start_mark.line + 1,
                        e.start_mark.column + 1, message);
  }

  // Reads the node that starts with `e`.
  Result<json::value> Node(const yaml_event_t& e) {
    switch (e.type) {
      case YAML_ALIAS_EVENT:
        return Where(e, "aliases (*name) are not supported; write the value out");
      case YAML_SCALAR_EVENT: {
        if (e.data.scalar.anchor) return Where(e, "anchors (&name) are not supported");
        std::string_view text(reinterpret_cast<const char*>(e.data.scalar.value),
                              e.data.scalar.length);
        if (e.data.scalar.style == YAML_PLAIN_SCALAR_STYLE) return PlainScalar(text);
        return json::value(json::string(text));
      }
      case YAML_SEQUENCE_START_EVENT: {
        if (e.data.sequence_start.anchor) return Where(e, "anchors (&name) are not supported");
        json::array a;
        for (;;) {
          Event item;
          SLUICE_RETURN_NOT_OK(Next(&item));
          if (item.event.type == YAML_SEQUENCE_END_EVENT) break;
          SLUICE_ASSIGN_OR_RETURN(json::value v, Node(item.event));
          a.push_back(std::move(v));
        }
        return json::value(std::move(a));
      }
      case YAML_MAPPING_START_EVENT: {
        if (e.data.mapping_start.anchor) return Where(e, "anchors (&name) are not supported");
        json::object o;
        for (;;) {
          Event key;
          SLUICE_RETURN_NOT_OK(Next(&key));
          if (key.event.type == YAML_MAPPING_END_EVENT) break;
          if (key.event.type != YAML_SCALAR_EVENT) {
            return Where(key.event, "a mapping key must be a plain string");
          }
          std::string k(reinterpret_cast<const char*>(key.event.data.scalar.value),
                        key.event.data.scalar.length);
          if (o.contains(k)) return Where(key.event, fmt::format("duplicate key '{}'", k));
          Event value;
          SLUICE_RETURN_NOT_OK(Next(&value));
          SLUICE_ASSIGN_OR_RETURN(json::value v, Node(value.event));
          o[k] = std::move(v);
        }
        return json::value(std::move(o));
      }
      default:
        return Where(e, "unexpected YAML event");
    }
  }

 private:
  yaml_parser_t* parser_;
  std::string_view what_;
};

}  // namespace

std::string ToYaml(const json::value& value) {
  std::string out;
  Emit(value, 0, &out);
  return out;
}

Result<json::value> ParseYaml(std::string_view text, std::string_view what) {
  Parser p;
  yaml_parser_set_input_string(&p.parser, reinterpret_cast<const unsigned char*>(text.data()),
                               text.size());
  Reader reader(&p.parser, what);
  Event start;
  SLUICE_RETURN_NOT_OK(reader.Next(&start));  // stream start
  Event doc;
  SLUICE_RETURN_NOT_OK(reader.Next(&doc));
  if (doc.event.type == YAML_STREAM_END_EVENT) {
    return Status::User("{}: the file is empty; expected a mapping", what);
  }
  Event first;
  SLUICE_RETURN_NOT_OK(reader.Next(&first));
  SLUICE_ASSIGN_OR_RETURN(json::value v, reader.Node(first.event));
  Event doc_end;
  SLUICE_RETURN_NOT_OK(reader.Next(&doc_end));
  Event next;
  SLUICE_RETURN_NOT_OK(reader.Next(&next));
  if (next.event.type != YAML_STREAM_END_EVENT) {
    return reader.Where(next.event, "only one YAML document is expected (found a second '---')");
  }
  return v;
}

}  // namespace sluice::k8s
