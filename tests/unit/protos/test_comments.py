"""Every service, rpc, message, field, oneof, enum and enum value in protos/ is documented."""

from __future__ import annotations

import textwrap

from tests.unit.protos.descriptors import all_elements, compile_descriptor_set, missing_comments


def test_every_element_in_protos_has_a_leading_comment(repo_descriptor_set):
    missing = missing_comments(repo_descriptor_set)
    assert not missing, "elements without a leading `//` comment:\n" + "\n".join(
        f"  {element}" for element in missing
    )


def test_the_walk_covers_every_kind_of_element(repo_descriptor_set):
    # Guards the check above against silently walking nothing.
    kinds = {element.kind for element, _ in all_elements(repo_descriptor_set)}
    assert kinds == {"service", "rpc", "message", "field", "oneof", "enum", "enum value"}


SAMPLE = textwrap.dedent(
    """\
    syntax = "proto3";

    package sample.v1;

    // Documented service.
    service SampleService {
      // Documented rpc.
      rpc Documented(Ping) returns (Ping);
      rpc Undocumented(Ping) returns (Ping);
    }

    // Documented message.
    message Ping {
      // Documented field.
      string ok = 1;
      string bare = 2;  // a trailing comment is not a leading comment
      // Documented map (its synthesized entry message must not be reported).
      map<string, string> labels = 3;
      // Documented optional (its synthetic oneof must not be reported).
      optional int32 maybe = 4;
      oneof choice {
        // Documented oneof member.
        int32 a = 5;
        // Documented oneof member.
        int32 b = 6;
      }
      message Inner {
        // Documented nested field.
        int32 c = 1;
      }
    }

    // Documented enum.
    enum Colour {
      // Documented value.
      COLOUR_UNSPECIFIED = 0;
      COLOUR_RED = 1;
    }

    enum Bare {
      // Documented value.
      BARE_UNSPECIFIED = 0;
    }
    """
)


def test_checker_reports_exactly_the_undocumented_elements(tmp_path):
    (tmp_path / "sample.proto").write_text(SAMPLE)
    fds = compile_descriptor_set(tmp_path, ["sample.proto"], tmp_path)

    reported = [str(element) for element in missing_comments(fds)]

    assert reported == [
        "field sample.v1.Ping.bare (sample.proto:16)",
        "oneof sample.v1.Ping.choice (sample.proto:21)",
        "message sample.v1.Ping.Inner (sample.proto:27)",
        "enum value sample.v1.Colour.COLOUR_RED (sample.proto:37)",
        "enum sample.v1.Bare (sample.proto:40)",
        "rpc sample.v1.SampleService.Undocumented (sample.proto:9)",
    ]


def test_checker_accepts_a_fully_documented_file(tmp_path):
    (tmp_path / "ok.proto").write_text(
        textwrap.dedent(
            """\
            syntax = "proto3";
            package ok.v1;
            // A message.
            message Thing {
              // A field.
              map<string, int32> counts = 1;
              // Another.
              optional string label = 2;
            }
            """
        )
    )
    fds = compile_descriptor_set(tmp_path, ["ok.proto"], tmp_path)
    assert missing_comments(fds) == []
    assert len(all_elements(fds)) == 3
