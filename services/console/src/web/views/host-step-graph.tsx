// A run's steps drawn with React Flow: one node per step (icon, name, state in words,
// progress or duration), edges in order, laid out by layoutNodes to the width there is.
// The graph is fixed (no panning, zooming or dragging): a node is selected by a click or
// by Enter/Space on it, and the page scrolls past it on a phone.
import '@xyflow/react/dist/style.css';
import { Handle, type Node, type NodeProps, Position, ReactFlow } from '@xyflow/react';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import {
  columnsFor,
  durationText,
  graphEdges,
  layoutNodes,
  NODE_HEIGHT,
  NODE_WIDTH,
  type NodeState,
  type StepNode,
} from '../hosts/step-graph.ts';
import { useElementWidth } from '../layout/use-element-width.ts';

/** Never colour alone: each state has its symbol as well as its word. */
export const STATE_ICONS: Record<NodeState, string> = {
  pending: '○',
  running: '◔',
  succeeded: '✓',
  failed: '✕',
  'rolled-back': '↺',
  skipped: '⤼',
};

const PAD = 12;

type StepFlowNode = Node<{ node: StepNode }, 'step'>;

function StepNodeView({ data }: NodeProps<StepFlowNode>) {
  const { t, i18n } = useTranslation();
  const n = data.node;
  const stateWord = t(`stepState.${n.state}`);
  return (
    <div className={`step-node step-${n.state}`} data-step={n.step} data-state={n.state}>
      <Handle type="target" id="l" position={Position.Left} isConnectable={false} />
      <Handle type="target" id="t" position={Position.Top} isConnectable={false} />
      <div className="step-node-title">
        <span className="step-icon" aria-hidden="true">
          {STATE_ICONS[n.state]}
        </span>{' '}
        {t(`step.${n.step}`)}
      </div>
      <div className="step-node-state">
        {n.state === 'running' && n.percent !== null ? t('host.nodeRunning', { state: stateWord, percent: n.percent }) : stateWord}
      </div>
      <div className="step-node-meta">
        {n.durationMs !== null ? durationText(n.durationMs, i18n.language) : '\u00a0'}
        {n.attempts > 1 ? ` · ${t('host.attempts', { count: n.attempts })}` : ''}
      </div>
      {n.state === 'running' && n.percent !== null && <div className="step-node-bar" style={{ width: `${n.percent}%` }} />}
      <Handle type="source" id="r" position={Position.Right} isConnectable={false} />
      <Handle type="source" id="b" position={Position.Bottom} isConnectable={false} />
    </div>
  );
}

const nodeTypes = { step: StepNodeView };

/** The accessible name of a node: "Upgrade: failed", "升级：进行中 40%". */
export function useNodeName(): (n: StepNode) => string {
  const { t } = useTranslation();
  return (n) => {
    const state = t(`stepState.${n.state}`);
    return t('host.nodeName', {
      step: t(`step.${n.step}`),
      state: n.state === 'running' && n.percent !== null ? t('host.nodeRunning', { state, percent: n.percent }) : state,
    });
  };
}

export function HostStepGraph({
  nodes,
  selected,
  onSelect,
}: {
  nodes: StepNode[];
  selected: string | null;
  onSelect: (id: string) => void;
}) {
  const { t } = useTranslation();
  const nameOf = useNodeName();
  const [box, width] = useElementWidth<HTMLDivElement>();
  const columns = columnsFor(width - 2 * PAD);
  const placements = layoutNodes(nodes, columns);
  const height = Math.max(...placements.map((p) => p.y), 0) + NODE_HEIGHT + 2 * PAD;

  const flowNodes: StepFlowNode[] = nodes.map((n) => {
    const at = placements.find((p) => p.id === n.id) ?? { x: 0, y: 0 };
    return {
      id: n.id,
      type: 'step',
      position: { x: at.x, y: at.y },
      data: { node: n },
      width: NODE_WIDTH,
      height: NODE_HEIGHT,
      selected: n.id === selected,
      draggable: false,
      connectable: false,
      deletable: false,
      ariaRole: 'button',
      ariaLabel: nameOf(n),
      domAttributes: { 'aria-pressed': n.id === selected },
    };
  });
  const stepName = (id: string): string => {
    const n = nodes.find((m) => m.id === id);
    return n ? t(`step.${n.step}`) : id;
  };
  const yOf = (id: string): number => placements.find((p) => p.id === id)?.y ?? 0;
  const flowEdges = graphEdges(nodes).map((e) => {
    // To a node on a row below (wrapped, or the recovery row): out of the bottom, into the top.
    const down = yOf(e.target) > yOf(e.source);
    return {
      id: e.id,
      source: e.source,
      target: e.target,
      sourceHandle: down ? 'b' : 'r',
      targetHandle: down ? 't' : 'l',
      type: 'smoothstep',
      className: e.idle ? 'edge-idle' : 'edge-done',
      focusable: false,
      selectable: false,
      ariaLabel: t('host.edgeName', { from: stepName(e.source), to: stepName(e.target) }),
    };
  });
  const ariaLabelConfig = useMemo(
    () => ({
      'node.a11yDescription.default': t('host.graphHelp'),
      'node.a11yDescription.keyboardDisabled': t('host.graphHelp'),
      'node.a11yDescription.ariaLiveMessage': () => t('host.graphLive'),
      'edge.a11yDescription.default': t('host.edgeHelp'),
      'handle.ariaLabel': t('host.handle'),
    }),
    [t],
  );

  return (
    <div ref={box} className="step-graph" data-height={height} style={{ height }}>
      <ReactFlow
        nodes={flowNodes}
        edges={flowEdges}
        nodeTypes={nodeTypes}
        onNodeClick={(_, node) => onSelect(node.id)}
        onNodesChange={(changes) => {
          for (const c of changes) if (c.type === 'select' && c.selected) onSelect(c.id);
        }}
        viewport={{ x: PAD, y: PAD, zoom: 1 }}
        nodesDraggable={false}
        nodesConnectable={false}
        edgesFocusable={false}
        panOnDrag={false}
        panOnScroll={false}
        zoomOnScroll={false}
        zoomOnPinch={false}
        zoomOnDoubleClick={false}
        preventScrolling={false}
        deleteKeyCode={null}
        selectionKeyCode={null}
        multiSelectionKeyCode={null}
        ariaLabelConfig={ariaLabelConfig}
        aria-label={t('host.steps')}
        proOptions={{ hideAttribution: true }}
      />
    </div>
  );
}
