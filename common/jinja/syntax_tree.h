// The parsed form of a chat template: expressions (Expr) and statements
// (Template::Node), built by expression_parser.h and statement_parser.h and
// walked by renderer.h. Plain data; internal to common/jinja.
// Thread-safety: immutable once parsed; shared by concurrent renders.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/jinja/template.h"
#include "common/jinja/value.h"

namespace prlm::jinja {

struct Expr {
  enum Kind {
    kLiteral,
    kName,
    kList,
    kDict,
    kTuple,
    kAttr,
    kIndex,
    kSlice,
    kCall,
    kFilter,
    kTest,
    kNeg,
    kPos,
    kNot,
    kAnd,
    kOr,
    kBinary,
    kCond,
    kStarred  // *args in a call (its keyword name "**" for **kwargs)
  } kind;
  int line = 0;
  Value literal;
  std::string name;                         // kName, kAttr, kFilter, kTest, kBinary (the operator)
  bool negated = false;                     // kTest: "is not"
  std::vector<std::shared_ptr<Expr>> kids;  // operands, elements, slice parts (null = absent)
  std::vector<std::string> keywords;        // kCall / kFilter / kTest: names of the last kids
};
using ExprPtr = std::shared_ptr<Expr>;

struct Template::Node {
  enum Kind { kBody, kText, kOutput, kIf, kFor, kSet, kSetBlock, kMacro, kCallBlock, kBreak, kContinue } kind;
  int line = 0;
  std::string text;  // kText
  ExprPtr expr;      // kOutput, kFor (iterable), kSet (value), kCallBlock (the call)
  std::vector<std::pair<ExprPtr, std::shared_ptr<Node>>> branches;  // kIf: (condition, body)
  std::shared_ptr<Node> otherwise;                                  // kIf / kFor else
  std::shared_ptr<Node> body;                   // kFor, kSetBlock, kMacro, kCallBlock (what caller() renders)
  ExprPtr filter;                               // kFor "if"
  std::vector<std::string> targets;             // kFor / kSet names; kMacro / kCallBlock parameters
  std::vector<ExprPtr> defaults;                // kMacro: each parameter's default (null: none)
  std::string attr;                             // kSet / kSetBlock on a namespace: targets[0].attr
  std::string name;                             // kMacro
  std::vector<std::shared_ptr<Node>> children;  // kBody
};
using NodePtr = std::shared_ptr<Template::Node>;

}  // namespace prlm::jinja
