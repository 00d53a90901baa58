# recipe: PrLM on LaMP-7 (tweet paraphrase): index, reward-model pairs, reward model, GRPO, eval table
# Values and their sources: recipes/README.md.
TASK=LaMP_7
source "$ROOT/recipes/prlm/stages.sh"
