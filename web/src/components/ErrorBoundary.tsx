// A page that fails to render shows what went wrong instead of a blank screen.
import { Alert, Button } from "@mantine/core";
import { Component, type ReactNode } from "react";

interface State {
  error: Error | null;
}

export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string }, State> {
  state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  componentDidUpdate(prev: { resetKey?: string }) {
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }

  render() {
    if (this.state.error) {
      return (
        <Alert color="red" title="This page failed to show" role="alert" data-testid="error">
          {this.state.error.message}
          <div>
            <Button mt="sm" size="xs" variant="default" onClick={() => this.setState({ error: null })}>
              Try again
            </Button>
          </div>
        </Alert>
      );
    }
    return this.props.children;
  }
}
