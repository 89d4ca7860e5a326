#pragma once
// The two XML documents the S3 checkpoint storage reads: a ListObjectsV2 result page and an
// error response. A small parser, enough for S3's responses (elements, attributes, text,
// entity and character references, CDATA, comments, the prolog), not a general XML library:
// no DTD, no namespaces beyond ignoring a "prefix:" on element names.
//
// Pure functions; thread-safe.

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::runtime::s3 {

// Replaces the five predefined entities and character references (&#38; &#x26;) in `text`.
Result<std::string> XmlUnescape(std::string_view text);

// One page of a ListObjectsV2 result.
struct ListPage {
  std::vector<std::string> keys;  // unescaped, in the order of the response
  bool truncated = false;         // IsTruncated: more pages follow
  std::string next_token;         // NextContinuationToken, for the next page
};
Result<ListPage> ParseListObjectsV2(std::string_view xml);

// The fields of an <Error> response that messages use; empty when the body is not one (an
// HTML page of a proxy, or no body at all).
struct ErrorInfo {
  std::string code;     // "NoSuchBucket", "SignatureDoesNotMatch", ...
  std::string message;  // the server's explanation
  std::string region;   // <Region>, sent by AWS when the request went to the wrong region
};
ErrorInfo ParseError(std::string_view xml);

// Every element of `xml` that holds text and no child element, as (path, text) in document
// order, with path the element names from the root ("InitiateMultipartUploadResult/UploadId").
Result<std::vector<std::pair<std::string, std::string>>> XmlTexts(std::string_view xml);

}  // namespace sluice::runtime::s3
