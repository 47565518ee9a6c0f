# Embeds a text file into C++ as a raw string literal (run at build time by the custom command in
# cmake/status_page.cmake):
#   cmake -DINPUT=<file> -DOUTPUT=<file.inc> -P embed_text.cmake
# OUTPUT holds only the literal, to be #included as an expression. The file must not contain the delimiter.
if(NOT INPUT OR NOT OUTPUT)
  message(FATAL_ERROR "usage: cmake -DINPUT=<file> -DOUTPUT=<file> -P embed_text.cmake")
endif()
set(delimiter "gh_embed")
file(READ "${INPUT}" content)
string(FIND "${content}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter )${delimiter}\"")
endif()
# Written to a temporary file first and copied only when it changed, so an unchanged page compiles nothing.
file(WRITE "${OUTPUT}.tmp" "// Generated from ${INPUT} by cmake/embed_text.cmake. Do not edit.\nR\"${delimiter}(${content})${delimiter}\"\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
