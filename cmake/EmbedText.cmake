# cmake -DINPUT=file -DOUTPUT=file.cc -DSYMBOL=ns::name -DHEADER=path/to/header.h -P EmbedText.cmake
# Writes a C++ source defining `extern const std::string_view name` in namespace `ns` with the
# contents of INPUT, as a raw string literal.
file(READ "${INPUT}" content)
string(FIND "${content}" ")idnode_embed\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw string delimiter )idnode_embed\"")
endif()
string(REGEX REPLACE "::[^:]*$" "" namespace "${SYMBOL}")
string(REGEX REPLACE "^.*::" "" name "${SYMBOL}")
file(WRITE "${OUTPUT}.tmp"
  "// Generated from ${INPUT} by cmake/EmbedText.cmake; do not edit.\n"
  "#include \"${HEADER}\"\n\n"
  "namespace ${namespace} {\n\n"
  "extern const std::string_view ${name} = R\"idnode_embed(${content})idnode_embed\";\n\n"
  "}  // namespace ${namespace}\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
