# Writes OUT with PETREL_GIT_COMMIT: `git describe --always --dirty` of SRC,
# or "unknown" where SRC is not the top of a git tree (a release tarball).
# Run at every build; the file changes, and main.c rebuilds, only when the
# commit does.
set(commit unknown)
find_package(Git QUIET)
if(GIT_FOUND)
	execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SRC} rev-parse --show-toplevel
		OUTPUT_VARIABLE top RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE
		ERROR_QUIET)
	if(rc EQUAL 0 AND EXISTS "${top}")
		file(REAL_PATH "${top}" top)
		file(REAL_PATH "${SRC}" src_real)
	endif()
	if(rc EQUAL 0 AND "${top}" STREQUAL "${src_real}")
		execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SRC} describe --always --dirty
			OUTPUT_VARIABLE described RESULT_VARIABLE rc
			OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
		if(rc EQUAL 0 AND described)
			set(commit "${described}")
		endif()
	endif()
endif()
file(CONFIGURE OUTPUT ${OUT} CONTENT "#define PETREL_GIT_COMMIT \"${commit}\"\n")
